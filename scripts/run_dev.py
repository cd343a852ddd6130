"""Run the web server and a Celery worker (and beat) together for `make run`; Ctrl-C stops all."""

import argparse
import os
import signal
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", default="8000")
    args = parser.parse_args()
    env = dict(os.environ, GHARART_DEV="1")
    # Sites on their own origin at {handle}.localhost:{port} (browsers resolve *.localhost
    # to loopback); the host router answers them before ALLOWED_HOSTS is consulted.
    env.setdefault("GHARART_SITES_DOMAIN", f"localhost:{args.port}")
    print(f"Sites on their own origin: http://gharart.{env['GHARART_SITES_DOMAIN']}/", flush=True)
    python = sys.executable
    procs = [
        subprocess.Popen([python, "-m", "celery", "-A", "gharart", "worker", "--beat", "--loglevel=INFO", "--concurrency=2", "--schedule", "var/celerybeat-schedule"], env=env),
        subprocess.Popen([python, "-m", "gunicorn", "gharart.wsgi", "--bind", f"127.0.0.1:{args.port}", "--workers", "1", "--threads", "8", "--timeout", "300", "--access-logfile", "-"], env=env),
    ]
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs)


if __name__ == "__main__":
    sys.exit(main())
