"""The shared HTTP layer's cost per request, beside a bare FastAPI route in the same run.

    .venv/bin/python bench/http_layer.py [--requests 3000] [--repeat 3]

Both apps answer the same small JSON on GET /v1/thing?page_size=5 in-process (httpx's ASGI
transport, one request at a time), so the ratio is what the shared layer adds: request id,
logging, metrics, tracing, problem handlers, response headers, the unknown-query check.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from jemput.shared.http.app import create_app


def bare() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/thing")
    async def thing(page_size: int = 50) -> dict[str, int]:
        return {"page_size": page_size}

    return app


def shared() -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    async def ready() -> dict[str, str]:
        return {"database": "ok"}

    registry = CollectorRegistry()
    app = create_app(
        title="bench",
        description="bench",
        lifespan=lifespan,
        readiness=lambda _: ready,
        registry=lambda _: registry,
    )

    @app.get("/v1/thing")
    async def thing(page_size: int = 50) -> dict[str, int]:
        return {"page_size": page_size}

    return app


async def rate(app: FastAPI, requests: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(50):  # warm up
            await client.get("/v1/thing", params={"page_size": 5})
        started = time.perf_counter()
        for _ in range(requests):
            answer = await client.get("/v1/thing", params={"page_size": 5})
            assert answer.status_code == 200, answer.text
        return requests / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bare_rates, shared_rates = [], []
    for _ in range(args.repeat):
        bare_rates.append(await rate(bare(), args.requests))
        shared_rates.append(await rate(shared(), args.requests))
    b, s = statistics.median(bare_rates), statistics.median(shared_rates)
    print(f"bare FastAPI route: {b:,.0f} req/s (runs {', '.join(f'{r:,.0f}' for r in bare_rates)})")
    print(
        f"shared layer:       {s:,.0f} req/s (runs {', '.join(f'{r:,.0f}' for r in shared_rates)})"
    )
    print(f"ratio to bare:      {s / b:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
