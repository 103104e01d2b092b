"""The OpenAPI document is the truth: schemathesis, with all of its checks, over every
endpoint (300 examples each, with and without the key) and through the stateful phase
(calls chained by the links it infers), finds no server error and no answer outside the
document."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from tests.serve.conftest import AUTH, make_client

_client = make_client(Path(tempfile.mkdtemp(prefix="coldrec-contract-")) / "store.sqlite")
_client.__enter__()  # the lifespan runs once for the module; the process ends it
schema = schemathesis.openapi.from_asgi("/openapi.json", _client.app)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck),
                    derandomize=True)


@schema.parametrize()
@SETTINGS
def test_every_endpoint_keeps_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=_key_unless_generated(case))


def _key_unless_generated(case: schemathesis.Case) -> dict[str, str]:
    """The API key, unless the case brings its own Authorization (a negative case about
    the key itself must reach the server as generated)."""
    return {} if "Authorization" in (case.headers or {}) else AUTH


class Workflows(schema.as_state_machine()):  # type: ignore[misc]
    """Chains of calls linked through their ids (a product written, then read, similar
    products, ...), each answer checked against the document."""

    def get_call_kwargs(self, case: schemathesis.Case) -> dict:
        return {"headers": _key_unless_generated(case)}


TestWorkflows = Workflows.TestCase
TestWorkflows.settings = settings(max_examples=60, stateful_step_count=8, deadline=None,
                                  derandomize=True, suppress_health_check=list(HealthCheck))
