"""Every route of every service, enumerated from the app itself (so a new route cannot escape):
no credentials → 401; a token with any single other scope → 403; a token with the route's scope
→ neither 401 nor 403; for routes bound to areas, a client limited to another district → 403
(404 where a resident's record is concealed: the answer for an unknown NIK or KK) and one
limited to the resident's district → allowed. Public paths answer without credentials."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from jemput.analytics.entrypoints.http.app import create_app as analytics_app
from jemput.analytics.settings import AnalyticsSettings
from jemput.inventory.entrypoints.http.app import create_app as inventory_app
from jemput.inventory.settings import InventorySettings
from jemput.outreach.entrypoints.http.app import create_app as outreach_app
from jemput.outreach.entrypoints.http.deps import get_clock
from jemput.outreach.settings import OutreachSettings
from jemput.outreach.testing import NOW as OUTREACH_NOW
from jemput.outreach.testing import FixedClock, recording
from jemput.residents.entrypoints.http.app import create_app as residents_app
from jemput.residents.settings import ResidentsSettings
from jemput.shared.nik import Sex, make_nik
from jemput.shared.security import Scope
from jemput.shared.security.dependencies import ApiOperation, api_operations
from jemput.shared.security.guard import PUBLIC_PATHS
from jemput.shared.settings import ServiceSettings
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.auth import shared_issuer
from jemput.shared.testing.fixtures import migrate

pytestmark = pytest.mark.kafka

SERVICES: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
    "residents": (residents_app, ResidentsSettings),
    "outreach": (outreach_app, OutreachSettings),
    "inventory": (inventory_app, InventorySettings),
    "analytics": (analytics_app, AnalyticsSettings),
}
VILLAGE = "16.02.05.1001"  # Kayu Agung district
OWN = ("16.02.05",)  # the seeded resident's district
OTHER = ("16.02.03",)  # Pedamaran
REFUSED = (401, 403)


@dataclass(frozen=True)
class Call:
    """One request: what the matrix sends to a route."""

    params: dict[str, str] = field(default_factory=dict)
    json: Any = None


def resident_body(serial: int) -> dict[str, Any]:
    return {
        "nik": make_nik("16.02.05", date(1980, 3, 4), Sex.MALE, serial),
        "kk": "1602050403800001",
        "full_name": "Ahmad Matriks",
        "birth_date": "1980-03-04",
        "sex": "L",
        "marital_status": "KAWIN",
        "village_code": VILLAGE,
    }


SEEDED = resident_body(1)
# Sample values of path parameters; a route with a new parameter fails until one is added.
PATH_VALUES = {
    # residents
    "nik": SEEDED["nik"],
    "kk": SEEDED["kk"],
    "job_id": "no-such-job",
    "subscription_id": "no-such-subscription",
    "delivery_id": "no-such-delivery",
    # outreach
    "team_id": "no-such-team",
    "serial": "no-such-kit",
    "session_id": "no-such-session",
    "home_visit_id": "no-such-request",
    "day": "2026-12-01",  # the outreach tests' fixed "today", not declared closed
    # inventory
    "entry_id": "1",
    "request_id": "no-such-request",
    "location": "office",
    # analytics
    "area": "16.02.05",
}

BOUND, CONCEALED, REGENCY, OWNED, FILTERED = "bound", "concealed", "regency", "owned", "filtered"


@dataclass(frozen=True)
class Rule:
    """The contract of a route: its scope, and how areas limit it (`bound`: the data's area
    decides, the call is about the seeded resident's district; `concealed`: bound, and a record
    outside the client's areas is answered as if it did not exist, 404; `regency`: a client
    limited to areas is refused)."""

    scope: Scope
    areas: str
    call: Callable[[], Call] = Call


# Every route of every service, one section per service. A new route fails this test until it
# is added here.
RESIDENTS_RULES: dict[str, Rule] = {
    "POST /v1/residents": Rule(Scope.RESIDENTS_WRITE, BOUND, lambda: Call(json=resident_body(2))),
    "GET /v1/residents": Rule(Scope.RESIDENTS_READ, BOUND, lambda: Call({"village": VILLAGE})),
    "GET /v1/residents/{nik}": Rule(Scope.RESIDENTS_READ, CONCEALED),
    "GET /v1/residents/{nik}/history": Rule(Scope.RESIDENTS_READ, CONCEALED),
    "GET /v1/residents/{nik}/ektp-status": Rule(Scope.RESIDENTS_STATUS, CONCEALED),
    "GET /v1/families/{kk}": Rule(Scope.RESIDENTS_READ, CONCEALED),
    "POST /v1/central-results": Rule(Scope.RESIDENTS_CENTRAL, REGENCY),
    "POST /v1/import-jobs": Rule(Scope.RESIDENTS_WRITE, REGENCY),
    "GET /v1/import-jobs/{job_id}": Rule(Scope.RESIDENTS_WRITE, REGENCY),
    "GET /v1/import-jobs/{job_id}/errors": Rule(Scope.RESIDENTS_WRITE, REGENCY),
    "GET /v1/audit/entries": Rule(Scope.AUDIT_READ, REGENCY),
    # A client limited to areas may subscribe to areas inside its own (checked per body).
    "POST /v1/subscriptions": Rule(
        Scope.RESIDENTS_SUBSCRIBE,
        BOUND,
        lambda: Call(json={"url": "http://127.0.0.1:9/hook", "areas": ["16.02.05"]}),
    ),
    "GET /v1/subscriptions": Rule(Scope.RESIDENTS_SUBSCRIBE, OWNED),
    "GET /v1/subscriptions/{subscription_id}": Rule(Scope.RESIDENTS_SUBSCRIBE, OWNED),
    "DELETE /v1/subscriptions/{subscription_id}": Rule(Scope.RESIDENTS_SUBSCRIBE, OWNED),
    "GET /v1/subscriptions/{subscription_id}/deliveries": Rule(Scope.RESIDENTS_SUBSCRIBE, OWNED),
    "POST /v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/retry": Rule(
        Scope.RESIDENTS_SUBSCRIBE, OWNED
    ),
}
_RECORD = Rule(Scope.OUTREACH_RECORD, REGENCY)
_PLAN = Rule(Scope.OUTREACH_PLAN, REGENCY)
# A session belongs to its village: the seeded one is in the seeded resident's district.
_SESSION_RECORD = Rule(Scope.OUTREACH_RECORD, BOUND)
_SESSION_PLAN = Rule(Scope.OUTREACH_PLAN, BOUND)
SESSION_DAY = "2026-12-01"  # the outreach tests' fixed "today", a Tuesday
OUTREACH_RULES: dict[str, Rule] = {
    "POST /v1/sessions/{session_id}:start": _SESSION_RECORD,
    "POST /v1/sessions/{session_id}:close": Rule(
        Scope.OUTREACH_RECORD,
        BOUND,
        lambda: Call(
            json={
                "outcomes": {
                    "recorded": 0,
                    "failed_to_record": 0,
                    "under_age": 0,
                    "already_has_card": 0,
                    "absent": 0,
                }
            }
        ),
    ),
    "POST /v1/sessions/{session_id}/recordings": Rule(
        Scope.OUTREACH_RECORD,
        BOUND,
        lambda: Call(json=recording("matrix-1", SEEDED["nik"], "MATRIX-K1")),
    ),
    "GET /v1/sessions/{session_id}/recordings": _SESSION_RECORD,
    "POST /v1/recordings:batch": _RECORD,
    "POST /v1/sessions": Rule(
        Scope.OUTREACH_PLAN,
        BOUND,
        lambda: Call(
            json={
                "kind": "village_drive",
                "village_code": VILLAGE,
                "day": SESSION_DAY,
                "team_id": "no-such-team",
            }
        ),
    ),
    # District staff find the sessions of their areas only.
    "GET /v1/sessions": Rule(Scope.OUTREACH_PLAN, FILTERED),
    "GET /v1/sessions/{session_id}": _SESSION_PLAN,
    "POST /v1/sessions/{session_id}:cancel": Rule(
        Scope.OUTREACH_PLAN, BOUND, lambda: Call(json={"reason": "matrix test"})
    ),
    "POST /v1/sessions/{session_id}/appointments": Rule(
        Scope.OUTREACH_PLAN, BOUND, lambda: Call(json={"nik": SEEDED["nik"]})
    ),
    "GET /v1/sessions/{session_id}/appointments": _SESSION_PLAN,
    "POST /v1/teams": _PLAN,
    "GET /v1/teams": _PLAN,
    "GET /v1/teams/{team_id}": _PLAN,
    "POST /v1/kits": _PLAN,
    "GET /v1/kits": _PLAN,
    "PATCH /v1/kits/{serial}": _PLAN,
    "POST /v1/home-visits": _PLAN,
    "GET /v1/home-visits": _PLAN,
    "POST /v1/home-visits/{home_visit_id}:close": _PLAN,
    "GET /v1/plan": _PLAN,
    "POST /v1/plan:accept": _PLAN,
    "POST /v1/closures": _PLAN,
    "GET /v1/closures": _PLAN,
    "DELETE /v1/closures/{day}": _PLAN,
    "GET /v1/audit/entries": Rule(Scope.AUDIT_READ, REGENCY),
}
# Stock and the ledger are per location; a district office's location is its district code.
_STOCK_READ = Rule(Scope.INVENTORY_READ, BOUND, lambda: Call({"location": "16.02.05"}))
_QUEUE_READ = Rule(Scope.INVENTORY_READ, REGENCY)
_PRINT = Rule(Scope.INVENTORY_PRINT, REGENCY)
INVENTORY_RULES: dict[str, Rule] = {
    "GET /v1/stock-levels": _STOCK_READ,
    "GET /v1/ledger": _STOCK_READ,
    "POST /v1/receipts": _PRINT,
    "POST /v1/transfers": _PRINT,
    "POST /v1/counts": _PRINT,
    "POST /v1/returns": _PRINT,
    "PUT /v1/stock-levels/{location}/low-threshold": _PRINT,
    "POST /v1/ledger/{entry_id}:reverse": _PRINT,
    "GET /v1/print-jobs": _QUEUE_READ,
    "GET /v1/print-jobs/{job_id}": _QUEUE_READ,
    "POST /v1/print-jobs/{job_id}:print": _PRINT,
    "POST /v1/print-jobs/{job_id}:spoil": _PRINT,
    "POST /v1/print-jobs/{job_id}:issue": _PRINT,
    "GET /v1/sukets": _QUEUE_READ,
    "GET /v1/forecast": _QUEUE_READ,
    "POST /v1/requests": _PRINT,
    "GET /v1/requests": _QUEUE_READ,
    "GET /v1/requests/{request_id}": _QUEUE_READ,
    "GET /v1/requests/{request_id}/document": _QUEUE_READ,
    "GET /v1/audit/entries": Rule(Scope.AUDIT_READ, REGENCY),
}
_ANALYTICS_AREA = Rule(Scope.ANALYTICS_READ, BOUND, lambda: Call({"area": "16.02.05"}))
ANALYTICS_RULES: dict[str, Rule] = {
    "GET /v1/coverage": _ANALYTICS_AREA,
    "GET /v1/progress": _ANALYTICS_AREA,
    "GET /v1/coverage/history": _ANALYTICS_AREA,
    "GET /v1/at-risk": _ANALYTICS_AREA,
    "GET /v1/stock": _ANALYTICS_AREA,
    "GET /v1/outreach/productivity": _ANALYTICS_AREA,
    "GET /v1/data-quality": _ANALYTICS_AREA,
    "PUT /v1/targets/{area}": Rule(
        Scope.ADMIN, REGENCY, lambda: Call(json={"share": 0.95, "due": "2026-12-31"})
    ),
}
RULES: dict[str, Rule] = {
    **RESIDENTS_RULES,
    **OUTREACH_RULES,
    **INVENTORY_RULES,
    **ANALYTICS_RULES,
}


@dataclass
class Service:
    name: str
    client: httpx.AsyncClient
    app: FastAPI
    failures: list[str] = field(default_factory=list)
    # Ids of what the fixture seeded, over PATH_VALUES.
    seeded: dict[str, str] = field(default_factory=dict)

    async def send(
        self, method: str, operation: ApiOperation, call: Call, headers: dict[str, str]
    ) -> int:
        path = _fill(operation.path, PATH_VALUES | self.seeded)
        response = await self.client.request(
            method, path, params=call.params, json=call.json, headers=headers
        )
        if response.status_code in REFUSED:
            assert response.headers["content-type"] == "application/problem+json"
        return response.status_code

    def expect(self, what: str, status: int, wanted: str) -> None:
        ok = status not in REFUSED if wanted == "allowed" else status == int(wanted)
        if not ok:
            self.failures.append(f"{what}: {status}, expected {wanted}")


def _fill(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"add a sample value for the path parameter {{{name}}}"
        return str(values[name])

    return re.sub(r"{(\w+)(?::\w+)?}", value, path)


def token(scopes: str, areas: tuple[str, ...] | None = None) -> dict[str, str]:
    """A bearer token of one client with these scopes (space-separated) and areas."""
    # Partners state their purpose (residents' audit log); other routes ignore the header.
    headers = shared_issuer().headers(scopes, client_id="matrix", areas=areas)
    return headers | {"X-Purpose": "route matrix test"}


@pytest.fixture(params=list(SERVICES))
async def service(
    request: pytest.FixtureRequest, database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Service]:
    name = request.param
    create_app, settings_class = SERVICES[name]
    await migrate(name, database_url)
    settings = settings_class(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        rate_limit_per_minute=100_000,
    )
    async with app_client(create_app, settings, scopes=None) as (client, app):
        seeded: dict[str, str] = {}
        if name == "residents":
            created = await client.post("/v1/residents", json=SEEDED, headers=token("admin"))
            assert created.status_code == 201, created.text
        if name == "outreach":
            app.dependency_overrides[get_clock] = lambda: FixedClock(OUTREACH_NOW)
            seeded["session_id"] = await seed_session(client)
        yield Service(name, client, app, seeded=seeded)


async def seed_session(client: httpx.AsyncClient) -> str:
    """A team with one kit and a session in the seeded resident's village."""
    admin = token("admin")
    team = await client.post(
        "/v1/teams",
        json={"name": "Tim Matriks", "members": ["Andi"], "base_code": "16.02.05"},
        headers=admin,
    )
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    kit = await client.post(
        "/v1/kits", json={"serial": "MATRIX-K1", "team_id": team_id}, headers=admin
    )
    assert kit.status_code == 201, kit.text
    body = {"kind": "village_drive", "village_code": VILLAGE, "day": SESSION_DAY}
    created = await client.post("/v1/sessions", json=body | {"team_id": team_id}, headers=admin)
    assert created.status_code == 201, created.text
    session_id: str = created.json()["id"]
    return session_id


async def test_every_route_needs_its_scope_and_respects_areas(service: Service) -> None:
    operations = api_operations(service.app)
    assert operations, "no routes found"
    other_scopes = [s for s in Scope if s is not Scope.ADMIN]
    for operation in operations:
        for method in sorted(operation.methods - {"HEAD"}):
            key = f"{method} {operation.path}"
            if operation.path in PUBLIC_PATHS:
                status = await service.send(method, operation, Call(), {})
                service.expect(f"{key} without credentials", status, "allowed")
                continue
            requirement = operation.requirement
            assert requirement is not None, f"{key} has no scope"
            assert key in RULES, f"{key}: add its scope and area rule to RULES"
            rule = RULES[key]
            assert requirement.scope is rule.scope, f"{key} requires {requirement.scope}"
            assert requirement.whole_regency == (rule.areas == REGENCY), key
            call = rule.call()
            status = await service.send(method, operation, call, {})
            service.expect(f"{key} without credentials", status, "401")
            for scope in other_scopes:
                status = await service.send(method, operation, call, token(scope))
                wanted = "allowed" if scope is rule.scope else "403"
                service.expect(f"{key} with only {scope}", status, wanted)
            admin = await service.send(method, operation, call, token("admin"))
            service.expect(f"{key} as admin", admin, "allowed")

            elsewhere = await service.send(method, operation, call, token(rule.scope, OTHER))
            at_home = await service.send(method, operation, call, token(rule.scope, OWN))
            wanted = {OWNED: "allowed", FILTERED: "allowed", CONCEALED: "404"}.get(
                rule.areas, "403"
            )
            service.expect(f"{key} limited to another district", elsewhere, wanted)
            wanted = "403" if rule.areas == REGENCY else "allowed"
            service.expect(f"{key} limited to its own district", at_home, wanted)
    assert not service.failures, "\n".join(service.failures)


async def test_unknown_paths_need_credentials_too(service: Service) -> None:
    assert (await service.client.get("/v1/nothing-here")).status_code == 401
    assert (await service.client.get("/v1/nothing-here", headers=token("admin"))).status_code == 404
