"""A database or broker that is down answers 503 with a problem document (try again), a bug
answers 500; and a write route commits before it answers."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import create_async_engine

from jemput.shared.http.problems import dependency_unavailable, install_problem_handlers
from jemput.shared.http.service_app import WriteSession


class _AsyncpgLike(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (ConnectionResetError(104, "Connection reset by peer"), True),
        (TimeoutError(), True),
        (sa_exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached"), True),
        (sa_exc.OperationalError("SELECT 1", {}, Exception("gone")), True),
        (sa_exc.InterfaceError("SELECT 1", {}, Exception("closed")), True),
        (sa_exc.InternalError("SELECT 1", {}, _AsyncpgLike("57P01")), True),  # admin shutdown
        (sa_exc.DBAPIError("SELECT 1", {}, _AsyncpgLike("08006")), True),  # connection failure
        (sa_exc.IntegrityError("INSERT", {}, _AsyncpgLike("23505")), False),
        (ValueError("a bug"), False),
    ],
)
def test_which_errors_mean_a_dependency_is_down(error: Exception, unavailable: bool) -> None:
    assert dependency_unavailable(error) is unavailable


async def test_outage_is_503_problem_and_bug_is_500() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/down")
    async def down() -> None:
        raise sa_exc.InterfaceError("SELECT 1", {}, Exception("connection is closed"))

    @app.get("/bug")
    async def bug() -> None:
        raise ValueError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        down_answer = await client.get("/down")
        bug_answer = await client.get("/bug")
    assert down_answer.status_code == 503
    assert down_answer.headers["content-type"].startswith("application/problem+json")
    assert down_answer.headers["retry-after"] == "5"
    assert down_answer.json()["status"] == 503
    assert bug_answer.status_code == 500


async def test_a_route_that_waits_in_vain_for_a_pooled_connection_is_503(
    tmp_path: Path,
) -> None:
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/count")
    async def count() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(sa.text("SELECT 1"))).scalar_one())

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
            engine.connect(),  # the pool's only connection, held
        ):
            answer = await client.get("/count")
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/count")).json() == 1  # free again: served
    finally:
        await engine.dispose()


def test_write_session_ends_before_the_answer_is_sent() -> None:
    """Committed before answering: a process killed after the answer lost nothing it acknowledged."""
    dependency = get_args(WriteSession)[1]
    assert dependency.scope == "function"
