"""Schemathesis over the API's own OpenAPI document, against a real server.

Every operation is called with a valid token and bounded, derandomized examples; the
two checks that hold the API to its word: no 5xx (`not_a_server_error`) and no status
the document does not list (`status_code_conformance`). Nothing is excluded: an
operation the user may not use (admin, moderation) is still exercised, and must answer
a documented 401/403/404/422.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import update

from partage.accounts import service as accounts
from partage.accounts.models import ApiToken
from tests.conftest import db_context
from tests.serverproc import Server

# The run's own token gets an id the generated ids do not reach, so that
# `DELETE /api/v1/tokens/{token_id}` is exercised on other ids and the run keeps its token.
TOKEN_ID = 2**30 + 7919
EXAMPLES = 12  # per operation: about 90 operations in well under a minute


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    # A server of its own: the run leaves folders, tokens and notices behind.
    srv = Server(Path(tmp_path_factory.mktemp("schemathesis")) / "data").start()
    ctx = db_context(srv)
    with ctx.db.session() as s:
        user = accounts.create_user(
            s, f"fuzz-{secrets.token_hex(3)}@example.org", "pw-" + secrets.token_hex(8)
        )
        tok, token = accounts.create_token(s, user, "schemathesis")
        s.flush()
        s.execute(update(ApiToken).where(ApiToken.id == tok.id).values(id=TOKEN_ID))
    ctx.close()
    yield srv, token
    srv.stop()


def _strategy(operation: APIOperation) -> st.SearchStrategy[Case]:
    """Valid input and input the schema refuses (out of bounds, wrong types), both."""
    modes = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            modes.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # noqa: BLE001 - an operation with nothing to make invalid
            continue
    return st.one_of(modes)


def _short(exc: BaseException) -> str:
    """Schemathesis's report, its lines cut short (a generated URL can be 100 kB)."""
    return "\n".join(line[:300] for line in str(exc).splitlines()[:25])


def test_api_conforms(api: tuple[Server, str]) -> None:
    srv, token = api
    schema = schemathesis.openapi.from_url(srv.url + "/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the failure is enough
        )
        @given(case=_strategy(operation))
        def run(case: Case) -> None:
            case.call_and_validate(
                base_url=srv.url,
                headers=headers,
                checks=[not_a_server_error, status_code_conformance],
                timeout=30,
            )

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's, not the first
            failures.append(f"{operation.label}: {_short(exc)}")
    assert operations > 50  # the document really was read
    assert not failures, "\n\n".join(failures)
