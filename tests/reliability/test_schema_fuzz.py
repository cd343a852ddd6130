"""Schemathesis against /v2/schema: every operation, as an owner with every scope.

For each operation of the published schema, schema-valid (positive) and schema-invalid
(negative) requests are generated with a fixed seed and sent to the WSGI app. No response
may be a server error, every response must match the schema (status code, content type,
headers, body), and every error must be the contract's envelope carrying the same
``X-Request-ID`` as the response header. Failures are collected over all operations and
reported together (one line per operation and problem).
"""

import json
import os
import time
from collections import defaultdict

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks as oa

from gharart import constants as c
from siteintel import netguard

# Examples per operation and generation mode (positive, negative): 46 operations x 2 x 15
# is about 1,400 requests, about a minute on two cores. GHARART_FUZZ_EXAMPLES=200 digs deeper.
EXAMPLES = int(os.environ.get("GHARART_FUZZ_EXAMPLES", "15"))


def envelope_and_request_id(ctx, response, case):
    """Every response carries X-Request-ID; every error is the envelope quoting it."""
    rid = response.headers.get("x-request-id")
    rid = rid[0] if isinstance(rid, list) else rid
    assert rid, "no X-Request-ID header"
    if response.status_code >= 400:
        body = json.loads(response.content)
        assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"not the error envelope: {body!r:.200}"
        error = body["error"]
        assert set(error) == {"code", "message", "request_id", "details"}, f"envelope keys {sorted(error)}"
        assert error["request_id"] == rid, "request_id in the body differs from X-Request-ID"
        assert isinstance(error["code"], str) and error["code"], "empty error code"
        assert isinstance(error["details"], dict), "details is not an object"
        assert "Traceback" not in response.content.decode("utf-8", "replace")


CHECKS = [
    not_a_server_error,
    oa.status_code_conformance,
    oa.content_type_conformance,
    oa.response_headers_conformance,
    oa.response_schema_conformance,
    envelope_and_request_id,
]


def _no_dns(host, port):
    # The fuzzer registers random hostnames; the test must not depend on the machine's DNS.
    raise netguard.ResolutionFailed(f"{host}: not resolved in tests")


def _known_ids(world, secret_id):
    return {
        "handle": ["acme"],
        "deployment_id": [world["live"].id, world["second"].id],
        "binding_id": [world["binding"].id],
        "file_id": [world["public_file"].id, world["link_file"].id],
        "link_id": [world["link"].id],
        "hostname": ["acme.sites.gharart.com"],
        "sha256": [world["live"].files.first().sha256],
    }


def _path_parameters(operation, known):
    """Known ids most of the time (to reach the handlers), generated ones otherwise."""
    names = [p.name for p in operation.path_parameters]
    choices = {}
    for name in names:
        if name == "handle":
            choices[name] = st.just("acme")  # other handles are the tenant matrix's job
        elif name in known:
            choices[name] = st.one_of(st.sampled_from(known[name]), st.none())
    return st.fixed_dictionaries(choices).map(lambda d: {k: v for k, v in d.items() if v is not None})


def _runner(strategy, label, mode, headers, own_token_id, sent, failures):
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        if (case.path_parameters or {}).get("token_id") == own_token_id:
            return  # revoking the fuzzer's own token would end the run
        sent[label] += 1
        response = None
        try:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected and reported together
            problems = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
            for problem in problems:
                text = str(problem).strip()
                first_line = text.splitlines()[0] if text else type(problem).__name__
                detail = " ".join(text.splitlines()[1:6])[:300]
                failures[(label, type(problem).__name__, first_line[:160])].append(
                    f"{mode.value} [{getattr(response, 'status_code', '-')}]: {case.method} {case.formatted_path} "
                    f"query={case.query} body={str(case.body)[:200]} :: {detail}"
                )

    return run


@pytest.mark.django_db(transaction=True)
def test_every_operation_survives_fuzzing(world, no_throttles, monkeypatch, pat, record_property):
    monkeypatch.setattr(netguard, "resolve_host", _no_dns)
    secret = pat(world["owner"], c.ALL_SCOPES)
    from gharart.models import PersonalAccessToken

    own_token_id = PersonalAccessToken.objects.get(prefix=secret[:12]).id
    known = _known_ids(world, own_token_id)
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi("/v2/schema?format=json", app)
    headers = {"Authorization": f"Bearer {secret}"}
    failures = defaultdict(list)
    sent = defaultdict(int)
    unsatisfiable = []
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, "expected every app's operations in the schema"
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = _path_parameters(operation, known).flatmap(
                lambda pp, op=operation, m=mode: op.as_strategy(generation_mode=m, path_parameters=pp)
            )

            try:
                _runner(strategy, label, mode, headers, own_token_id, sent, failures)()
            except Unsatisfiable:
                unsatisfiable.append(f"{mode.value} {label}")  # nothing to negate (no parameters, no body)
    elapsed = time.monotonic() - started
    total = sum(sent.values())
    record_property("schemathesis_operations", len(operations))
    record_property("schemathesis_requests", total)
    print(f"\nschemathesis: {len(operations)} operations, {total} requests, {elapsed:.1f}s, {len(failures)} distinct failures; no cases for {unsatisfiable}")
    report = [f"{key[0]}: {key[1]}: {key[2]}\n    e.g. {cases[0]}" for key, cases in sorted(failures.items())]
    assert not failures, "\n".join(report)
