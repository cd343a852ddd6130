"""The OpenAPI document generates without a warning and validates against the OpenAPI spec."""

import io

import pytest
import yaml
from django.core.management import call_command


def test_the_schema_generates_valid_and_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn: an unresolvable field or serializer would make the document lie.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert set(schema["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) >= 40
    for path, method, op in operations:
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorEnvelope", (path, method, status)
        assert {"429", "500", "503"} <= set(op["responses"]), (path, method)


@pytest.mark.django_db
def test_the_schema_is_served_at_v2_schema(client):
    response = client.get("/v2/schema?format=json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Gharart API"
