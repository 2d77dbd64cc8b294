"""Reading the register over HTTP: the resident view and eligibility by date, search filters and
pagination (checked against the domain rules), the partner status API, families."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from jemput.residents.adapters.tables import Resident, ResidentCreate
from jemput.residents.domain.model import DomicileStatus, EktpStatus, is_elderly
from jemput.residents.entrypoints.http.app import create_app
from jemput.residents.service_layer import registration
from jemput.residents.settings import ResidentsSettings
from jemput.shared.eligibility import birthday, is_eligible, turns_adult_within
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate
from jemput.shared.timezone import today_in_office

S = EktpStatus
AS_OF = date(2026, 6, 15)
KK = "1602050101200001"


@dataclass
class Person:
    """A resident to seed, and what the domain rules say about them (the test's oracle)."""

    serial: int
    district: str
    village: str
    birth_date: date
    sex: Sex = Sex.MALE
    marital_status: str = "BELUM_KAWIN"
    status: EktpStatus = S.BELUM_REKAM
    full_name: str = "WARGA"
    kk: str = KK
    flags: dict[str, bool] = field(default_factory=dict)
    domicile: DomicileStatus = DomicileStatus.RESIDENT

    @property
    def nik(self) -> str:
        return make_nik(self.district, self.birth_date, self.sex, self.serial)

    @property
    def ever_married(self) -> bool:
        return self.marital_status != "BELUM_KAWIN"

    def eligible(self, as_of: date) -> bool:
        return is_eligible(
            birth_date=self.birth_date,
            ever_married=self.ever_married,
            as_of=as_of,
            domiciled=self.domicile is DomicileStatus.RESIDENT,
        )

    def status_on(self, as_of: date) -> EktpStatus:
        if self.status not in (S.BELUM_WAJIB, S.BELUM_REKAM):
            return self.status
        of_age = is_eligible(
            birth_date=self.birth_date, ever_married=self.ever_married, as_of=as_of
        )
        return S.BELUM_REKAM if of_age else S.BELUM_WAJIB

    def vulnerable(self, as_of: date) -> bool:
        return is_elderly(self.birth_date, as_of) or any(self.flags.values())

    def body(self) -> dict[str, Any]:
        return {
            "nik": self.nik,
            "kk": self.kk,
            "full_name": self.full_name,
            "birth_date": self.birth_date,
            "sex": self.sex.value,
            "marital_status": self.marital_status,
            "village_code": self.village,
            "ektp_status": self.status,
            **self.flags,
        }


DISTRICTS = [
    ("16.02.05", ["16.02.05.1001", "16.02.05.1002"]),
    ("16.02.02", ["16.02.02.1011", "16.02.02.2001"]),
    ("16.02.03", ["16.02.03.2002", "16.02.03.2003"]),
]
NAMES = ["SITI AMINAH", "SITI RAHMA", "Siti Nurhaliza", "SUTRISNO", "BUDI", "SITIHAJAR"]
STATUSES = [S.BELUM_REKAM, S.SUDAH_REKAM, S.PRINT_READY_RECORD, S.CARD_ISSUED, S.DUPLICATE]
FLAGS = ["disabled", "chronically_ill", "mental_illness"]


def population() -> list[Person]:
    people = []
    seventeen_years_ago = AS_OF.replace(year=AS_OF.year - 17)
    for i in range(30):
        district, villages = DISTRICTS[i % 3]
        if i < 12:  # teenagers around their 17th birthday (as of AS_OF)
            born = seventeen_years_ago + timedelta(days=(i - 3) * 5)
            status = S.BELUM_WAJIB if i % 4 else S.BELUM_REKAM  # stored statuses may lag
        else:
            born = date(1950 + (i * 3) % 50, 1 + i % 12, 1 + i % 28)
            status = STATUSES[i % len(STATUSES)]
        people.append(
            Person(
                serial=i + 1,
                district=district,
                village=villages[i % 2],
                birth_date=born,
                sex=Sex.FEMALE if i % 2 else Sex.MALE,
                marital_status="KAWIN" if i in (5, 8) or (i >= 12 and i % 3) else "BELUM_KAWIN",
                status=status,
                full_name=NAMES[i % len(NAMES)],
                kk=f"16020501012{i // 4:05d}",
                flags={FLAGS[i % 3]: True} if i % 7 == 0 else {},
                domicile=DomicileStatus.MOVED_OUT if i in (13, 26) else DomicileStatus.RESIDENT,
            )
        )
    return people


async def seed(app: FastAPI, people: list[Person], today: date = AS_OF) -> None:
    """Store residents directly through the service layer (fast), as the API would."""
    runtime = app.state.runtime
    async with runtime.sessions() as session, session.begin():
        for person in people:
            data = ResidentCreate.model_validate(person.body())
            resident, _ = await registration.create(
                session, runtime.outbox, data, regency_code="16.02", today=today
            )
            resident.domicile_status = person.domicile
            if person.status in (S.BELUM_WAJIB, S.BELUM_REKAM):
                resident.ektp_status = person.status  # as an import would have stored it
            session.add(resident)


@pytest.fixture
async def api(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    await migrate("residents", database_url)
    settings = ResidentsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,
        consumer_enabled=False,
    )
    async with app_client(create_app, settings) as (client, app):
        yield client, app


@pytest.fixture
async def seeded(api: tuple[httpx.AsyncClient, FastAPI]) -> tuple[httpx.AsyncClient, list[Person]]:
    client, app = api
    people = population()
    await seed(app, people)
    return client, people


async def read_all(client: httpx.AsyncClient, **params: Any) -> list[str]:
    """Every NIK the search returns, paging 7 at a time; checks the pages on the way."""
    niks: list[str] = []
    token = None
    for _ in range(100):
        query = {"as_of": AS_OF.isoformat(), "page_size": 7, **params}
        if token:
            query["page_token"] = token
        response = await client.get("/v1/residents", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 7
        niks.extend(item["nik"] for item in page["items"])
        token = page["next_page_token"]
        if token is None:
            break
        assert len(page["items"]) == 7
    assert niks == sorted(niks) and len(set(niks)) == len(niks), "pages overlap or are unsorted"
    return niks


def expected(people: list[Person], keep: Any) -> list[str]:
    return sorted(p.nik for p in people if keep(p))


def resident_here(p: Person) -> bool:
    return p.domicile is DomicileStatus.RESIDENT


FILTERS: list[tuple[dict[str, Any], Any]] = [
    ({}, lambda p: True),
    ({"district": "16.02.05"}, lambda p: p.district == "16.02.05"),
    ({"village": "16.02.02.1011"}, lambda p: p.village == "16.02.02.1011"),
    ({"status": "BELUM_WAJIB"}, lambda p: p.status_on(AS_OF) is S.BELUM_WAJIB),
    ({"status": "BELUM_REKAM"}, lambda p: p.status_on(AS_OF) is S.BELUM_REKAM),
    ({"status": "SUDAH_REKAM"}, lambda p: p.status_on(AS_OF) is S.SUDAH_REKAM),
    ({"status": "DUPLICATE"}, lambda p: p.status_on(AS_OF) is S.DUPLICATE),
    ({"eligible": "true"}, lambda p: p.eligible(AS_OF)),
    ({"eligible": "false"}, lambda p: not p.eligible(AS_OF)),
    ({"vulnerable": "true"}, lambda p: p.vulnerable(AS_OF)),
    ({"vulnerable": "false"}, lambda p: not p.vulnerable(AS_OF)),
    ({"vulnerability": "elderly"}, lambda p: is_elderly(p.birth_date, AS_OF)),
    ({"vulnerability": "disabled"}, lambda p: p.flags.get("disabled", False)),
    ({"vulnerability": "mental_illness"}, lambda p: p.flags.get("mental_illness", False)),
    (
        {"turns_17_within_days": 30},
        lambda p: not p.ever_married and turns_adult_within(p.birth_date, AS_OF, 30),
    ),
    ({"name_prefix": "siti"}, lambda p: p.full_name.upper().startswith("SITI")),
    ({"name_prefix": "SITI "}, lambda p: p.full_name.upper().startswith("SITI ")),
    ({"name_prefix": "Su"}, lambda p: p.full_name.upper().startswith("SU")),
    (
        {"district": "16.02.05", "eligible": "true", "status": "BELUM_REKAM"},
        lambda p: (
            p.district == "16.02.05" and p.eligible(AS_OF) and p.status_on(AS_OF) is S.BELUM_REKAM
        ),
    ),
]


async def test_search_filters_and_pages_match_the_domain_rules(
    seeded: tuple[httpx.AsyncClient, list[Person]],
) -> None:
    client, people = seeded
    for params, keep in FILTERS:
        want = expected(people, lambda p, keep=keep: resident_here(p) and keep(p))
        assert await read_all(client, **params) == want, params
        assert params == {} or 0 < len(want) < 28, f"{params} does not tell anything apart"
    moved = await read_all(client, domicile="MOVED_OUT")
    assert moved == expected(people, lambda p: not resident_here(p))
    # The filters above are not vacuous.
    assert len(await read_all(client)) == 28
    assert await read_all(client, turns_17_within_days=30)
    assert await read_all(client, status="BELUM_WAJIB")
    assert len(await read_all(client, name_prefix="siti")) > len(
        await read_all(client, name_prefix="SITI ")
    )


async def test_search_items_are_the_resident_view_as_of_the_date(
    seeded: tuple[httpx.AsyncClient, list[Person]],
) -> None:
    client, people = seeded
    page = (
        await client.get("/v1/residents", params={"as_of": AS_OF.isoformat(), "page_size": 500})
    ).json()
    by_nik = {p.nik: p for p in people}
    assert page["next_page_token"] is None
    for item in page["items"]:
        person = by_nik[item["nik"]]
        assert item["ektp_status"] == person.status_on(AS_OF)
        assert item["eligible"] == person.eligible(AS_OF)
        assert item["elderly"] == is_elderly(person.birth_date, AS_OF)


async def test_eligibility_the_day_before_and_on_the_17th_birthday(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = api
    born = date(2009, 3, 15)
    teen = Person(1, "16.02.05", "16.02.05.1001", born, status=S.BELUM_WAJIB)
    await seed(app, [teen], today=date(2026, 1, 1))
    day_before, birthday_17 = date(2026, 3, 14), date(2026, 3, 15)

    view = (await client.get(f"/v1/residents/{teen.nik}", params={"as_of": str(day_before)})).json()
    assert (view["ektp_status"], view["eligible"], view["eligible_from"]) == (
        "BELUM_WAJIB",
        False,
        "2026-03-15",
    )
    view = (
        await client.get(f"/v1/residents/{teen.nik}", params={"as_of": str(birthday_17)})
    ).json()
    assert (view["ektp_status"], view["eligible"], view["eligible_from"]) == (
        "BELUM_REKAM",
        True,
        None,
    )

    async def found(on: date, **params: Any) -> bool:
        query = {"as_of": on.isoformat(), **params}
        items = (await client.get("/v1/residents", params=query)).json()["items"]
        return [item["nik"] for item in items] == [teen.nik]

    assert await found(day_before, status="BELUM_WAJIB")
    assert not await found(day_before, status="BELUM_REKAM")
    assert not await found(day_before, eligible="true")
    assert await found(day_before, turns_17_within_days=1)
    assert await found(birthday_17, status="BELUM_REKAM")
    assert await found(birthday_17, eligible="true")
    assert not await found(birthday_17, turns_17_within_days=1)


async def test_a_leap_day_baby_turns_17_on_the_first_of_march(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = api
    teen = Person(2, "16.02.05", "16.02.05.1001", date(2008, 2, 29), status=S.BELUM_WAJIB)
    await seed(app, [teen], today=date(2024, 1, 1))
    for on, eligible in ((date(2025, 2, 28), False), (date(2025, 3, 1), True)):
        view = (await client.get(f"/v1/residents/{teen.nik}", params={"as_of": str(on)})).json()
        assert view["eligible"] is eligible, on
        items = (
            await client.get("/v1/residents", params={"as_of": str(on), "eligible": "true"})
        ).json()["items"]
        assert bool(items) is eligible, on


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"village": "16.02.05.9999"}, "village", "unknown_village"),
        ({"village": "16.02.05"}, "village", "string_pattern_mismatch"),
        ({"district": "16.02.99"}, "district", "unknown_district"),
        ({"district": "16.02.05.1001"}, "district", "string_pattern_mismatch"),
        ({"status": "LOST"}, "status", "enum"),
        ({"page_size": 0}, "page_size", "greater_than_equal"),
        ({"page_size": 501}, "page_size", "less_than_equal"),
        ({"page_token": "not-a-token"}, "page_token", "invalid_page_token"),
        ({"page_token": "WyJ4Il0"}, "page_token", "invalid_page_token"),  # ["x"]
        ({"turns_17_within_days": 0}, "turns_17_within_days", "greater_than_equal"),
        ({"as_of": "2026-02-30"}, "as_of", "date_from_datetime_parsing"),
        ({"villag": "16.02.05.1001"}, "villag", "extra_forbidden"),
    ],
)
async def test_bad_search_parameters_are_422_problems(
    api: tuple[httpx.AsyncClient, FastAPI], params: dict[str, Any], field: str, code: str
) -> None:
    client, _ = api
    response = await client.get("/v1/residents", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["code"].startswith(code.split("_from_")[0]), errors


async def test_partner_status_shows_four_fields_only(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = api
    person = Person(3, "16.02.05", "16.02.05.1001", date(1990, 5, 17), status=S.SUDAH_REKAM)
    person.full_name = "SITI AMINAH"
    await seed(app, [person], today=today_in_office())
    response = await client.get(f"/v1/residents/{person.nik}/ektp-status")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"nik", "ektp_status", "suket_outstanding", "last_changed"}
    assert body["nik"] == person.nik
    assert (body["ektp_status"], body["suket_outstanding"]) == ("SUDAH_REKAM", False)
    assert date.fromisoformat(body["last_changed"]) <= today_in_office()
    assert "SITI" not in response.text and "1990-05-17" not in response.text

    unknown = make_nik("16.02.05", date(1990, 5, 18), Sex.MALE, 1)
    missing = await client.get(f"/v1/residents/{unknown}/ektp-status")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert unknown not in missing.json().get("detail", "")
    assert (await client.get("/v1/residents/12345/ektp-status")).status_code == 422


async def test_partner_status_catches_up_with_a_birthday(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = api
    today = today_in_office()
    born = today.replace(year=today.year - 17, day=1) - timedelta(days=40)
    teen = Person(4, "16.02.05", "16.02.05.1001", born, status=S.BELUM_WAJIB)
    await seed(app, [teen], today=born + timedelta(days=365))
    async with app.state.runtime.sessions() as session, session.begin():
        resident = await session.get(Resident, teen.nik)
        assert resident is not None
        resident.ektp_status = S.BELUM_WAJIB
        resident.status_changed_at = datetime(born.year + 1, 1, 1, tzinfo=UTC)
        session.add(resident)
    body = (await client.get(f"/v1/residents/{teen.nik}/ektp-status")).json()
    assert body["ektp_status"] == "BELUM_REKAM"
    assert body["last_changed"] == birthday(born, 17).isoformat()
    assert (await client.get(f"/v1/residents/{teen.nik}")).json()["ektp_status"] == "BELUM_REKAM"


async def test_a_family_is_complete_when_every_eligible_member_is_recorded(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = api
    today = today_in_office()
    child_born = today.replace(year=today.year - 10, day=1)
    father = Person(5, "16.02.05", "16.02.05.1001", date(1980, 1, 2), status=S.SUDAH_REKAM)
    mother = Person(6, "16.02.05", "16.02.05.1001", date(1982, 3, 4), Sex.FEMALE)
    mother.status, mother.marital_status = S.DUPLICATE, "KAWIN"
    child = Person(7, "16.02.05", "16.02.05.1001", child_born, status=S.BELUM_WAJIB)
    uncle = Person(8, "16.02.05", "16.02.05.1001", date(1975, 6, 7))
    uncle.domicile = DomicileStatus.MOVED_OUT  # no longer required here
    grandma = Person(9, "16.02.05", "16.02.05.1001", date(1950, 8, 9), Sex.FEMALE)
    other = Person(10, "16.02.05", "16.02.05.1001", date(1970, 1, 1), kk="1602050101200002")
    await seed(app, [father, mother, child, uncle, grandma, other], today=today)

    family = (await client.get(f"/v1/families/{KK}")).json()
    assert [m["nik"] for m in family["members"]] == [
        grandma.nik,
        uncle.nik,
        father.nik,
        mother.nik,
        child.nik,
    ]
    assert (family["eligible"], family["recorded"], family["complete"]) == (3, 2, False)
    assert family["members"][0]["elderly"] is True

    result = {"nik": grandma.nik, "result": "PRINT_READY_RECORD"}
    refused = await client.post("/v1/central-results", json={"results": [result]})
    assert refused.json()["results"][0]["outcome"] == "refused"  # never recorded
    async with app.state.runtime.sessions() as session, session.begin():
        resident = await session.get(Resident, grandma.nik)
        assert resident is not None
        resident.ektp_status = S.SUDAH_REKAM
        resident.recorded_at = datetime.now(UTC)
        session.add(resident)
    family = (await client.get(f"/v1/families/{KK}")).json()
    assert (family["eligible"], family["recorded"], family["complete"]) == (3, 3, True)

    assert (await client.get("/v1/families/1602050101209999")).status_code == 404
    assert (await client.get("/v1/families/16020501")).status_code == 422


async def test_openapi_documents_every_route_with_its_problems(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, _ = api
    spec = (await client.get("/openapi.json")).json()
    routes = {
        ("/v1/residents", "get"): {"422"},
        ("/v1/residents/{nik}", "get"): {"404", "422"},
        ("/v1/residents/{nik}/history", "get"): {"404", "422"},
        ("/v1/residents/{nik}/ektp-status", "get"): {"404", "422"},
        ("/v1/families/{kk}", "get"): {"404", "422"},
        ("/v1/central-results", "post"): {"422"},
    }
    for (path, method), problems in routes.items():
        operation = spec["paths"][path][method]
        assert operation["summary"], path
        assert problems <= set(operation["responses"]), path
        for code in problems:
            assert "application/problem+json" in operation["responses"][code]["content"], path
    search_parameters = {p["name"] for p in spec["paths"]["/v1/residents"]["get"]["parameters"]}
    assert {"village", "status", "turns_17_within_days", "page_size", "page_token"} <= (
        search_parameters
    )
    partner = spec["components"]["schemas"]["EktpStatusPublic"]["properties"]
    assert set(partner) == {"nik", "ektp_status", "suket_outstanding", "last_changed"}
