"""The whole mission, end to end: the four services as real processes (`jemput <service> serve`)
on PostgreSQL and the local Kafka, driven over HTTP only, as the office would drive them.

A register of 20 residents in two villages of Kayu Agung (16 of them eligible) is imported; the
office receives 3 blanks (and its district office 2); two teams with a kit each go out to the two
villages on the last working day, record 8 residents offline and upload the day's batch later;
the national system clears all 8; the 3 cards that have blanks are printed and handed over, the
other 5 residents hold SUKETs; 4 more blanks arrive and serve the 4 longest-waiting jobs in
order of recording; those are printed and handed over; one resident still holds a SUKET.

After each step, every service's account of it must agree, within seconds: the residents'
statuses and SUKET flags, analytics' coverage (numerator and denominator) and the dashboard's
figures, inventory's stock against analytics' stock, the SUKETs outstanding, and the print
queue; and the business gauges on /metrics equal the APIs' numbers. How long each step took
to converge is printed (and kept in var/test-artifacts/mission-convergence.txt).

Teams go out on working days only (weekends, holidays and collective leave are refused), so
the outreach process is started with its clock on the last working day before today while the
teams, kits and sessions are set up and the sessions start; then it is restarted on the real
clock and the kits upload what they recorded that day — as field kits without signal do.
"""

from __future__ import annotations

import asyncio
import csv
import io
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jemput.outreach.domain.calendar import WorkingCalendar
from jemput.outreach.reference import load_holidays
from jemput.residents.service_layer.register_file import COLUMNS
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.fixtures import create_postgres_database, drop_postgres_database
from jemput.shared.testing.fleet import SERVICES, Fleet, ServiceProcess
from jemput.shared.timezone import OFFICE_TIMEZONE, today_in_office

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.postgres]

WIB = ZoneInfo(OFFICE_TIMEZONE)
REGENCY = "16.02"
DISTRICT = "16.02.05"  # Kayu Agung
VILLAGES = {"16.02.05.1001": (10, 2), "16.02.05.1002": (6, 2)}  # village: (adults, children)
RECORDED_PER_VILLAGE = {"16.02.05.1001": 5, "16.02.05.1002": 3}
FIRST_BLANKS, MORE_BLANKS, DISTRICT_BLANKS = 3, 4, 2
CONVERGENCE_SECONDS = 15.0
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
RECORDED_STATUSES = {"SUDAH_REKAM", "PRINT_READY_RECORD", "CARD_PRINTED", "CARD_ISSUED"}
CLEARED_STATUSES = {"PRINT_READY_RECORD", "CARD_PRINTED", "CARD_ISSUED"}
PRINTED_STATUSES = {"CARD_PRINTED", "CARD_ISSUED"}


# --- the register ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    nik: str
    village: str
    born: date
    sex: Sex

    @property
    def adult(self) -> bool:
        return self.born.year < 2000


def the_register(today: date) -> list[Person]:
    people = []
    serial = 0
    for village, (adults, children) in VILLAGES.items():
        for index in range(adults + children):
            serial += 1
            # Adults born 1962-1998; children 8 to 12 years old: far from any 17th birthday.
            year = 1960 + serial * 2 if index < adults else today.year - 8 - index % 5
            born = date(year, 1 + serial % 12, 1 + serial % 28)
            sex = Sex.FEMALE if serial % 2 else Sex.MALE
            people.append(Person(make_nik(DISTRICT, born, sex, serial), village, born, sex))
    return people


def register_csv(people: list[Person], ektp: Mapping[str, str] | None = None) -> bytes:
    """The register as the office exports it; `ektp`: NIK → `STAT_EKTP` (BELUM_REKAM when
    absent)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for serial, person in enumerate(people, start=1):
        writer.writerow(
            {
                "NIK": person.nik,
                "NO_KK": f"160205010{serial:07d}",
                "NAMA_LGKP": f"WARGA {serial}",
                "TGL_LHR": person.born.isoformat(),
                "JENIS_KLMIN": "PEREMPUAN" if person.sex is Sex.FEMALE else "LAKI-LAKI",
                "STAT_KWN": "KAWIN" if person.adult else "BELUM KAWIN",
                "KODE_DESA": person.village,
                "STAT_EKTP": (ektp or {}).get(person.nik, ""),
            }
        )
    return out.getvalue().encode()


def statuses(sudah_rekam: int = 0, print_ready: int = 0, card_issued: int = 0) -> Counter[str]:
    """The register's e-KTP statuses: children not yet required, adults not recorded unless
    counted in one of the later statuses."""
    adults = sum(a for a, _ in VILLAGES.values())
    later = sudah_rekam + print_ready + card_issued
    return +Counter(
        {
            "BELUM_WAJIB": sum(c for _, c in VILLAGES.values()),
            "BELUM_REKAM": adults - later,
            "SUDAH_REKAM": sudah_rekam,
            "PRINT_READY_RECORD": print_ready,
            "CARD_ISSUED": card_issued,
        }
    )


def last_working_day_before(today: date) -> date:
    calendar = WorkingCalendar(load_holidays())
    day = today - timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return day


# --- the outreach process on another day ----------------------------------------------------

# Starts the service with its clock at argv[1], ticking on from there.
TRAVELLING_LAUNCHER = """
import sys
from datetime import datetime
import time_machine
time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True).start()
sys.argv = ["jemput", *sys.argv[2:]]
from jemput.shared.cli import main
main()
"""


@dataclass
class TravellingProcess(ServiceProcess):
    """The service with its clock started at `moment` instead of now."""

    moment: datetime | None = None

    def start(self) -> None:
        assert self.moment is not None
        command = [sys.executable, "-c", TRAVELLING_LAUNCHER, self.moment.isoformat()]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, self.name, "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )


async def relaunch(fleet: Fleet, service: str, moment: datetime | None) -> None:
    """Stop the service (SIGTERM: it leaves its consumer group at once) and start it again on
    the same port and database, its clock at `moment` (None: the real clock)."""
    old = fleet.processes[service]
    if old.process is not None and old.running:
        old.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(old.process.wait, 30)
    new = (
        TravellingProcess(old.name, old.port, old.env, old.log, moment=moment)
        if moment is not None
        else ServiceProcess(old.name, old.port, old.env, old.log)
    )
    fleet.processes[service] = new
    new.start()
    await fleet.wait_ready(service)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
async def databases(pg_dsn: str) -> AsyncIterator[dict[str, str]]:
    created = {service: await create_postgres_database(pg_dsn) for service in SERVICES}
    try:
        yield {service: url for service, (_, url) in created.items()}
    finally:
        for name, _ in created.values():
            await drop_postgres_database(pg_dsn, name)


@pytest.fixture
async def fleet(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str, databases: dict[str, str]
) -> AsyncIterator[Fleet]:
    settings = {"residents": {"import_folder": str(tmp_path / "imports")}}
    async with Fleet(
        tmp_path / "logs", kafka_bootstrap, kafka_namespace, databases, settings=settings
    ) as running:
        yield running


# --- what every service says ------------------------------------------------------------------


@dataclass
class Observation:
    residents: dict[str, dict[str, Any]]  # NIK → the register's record
    coverage: dict[str, Any]  # analytics /v1/coverage of the district
    progress: dict[str, Any]  # analytics /v1/progress of the regency (the dashboard headline)
    analytics_stock: dict[str, Any]  # analytics /v1/stock (the dashboard's stock block)
    stock: dict[str, dict[str, int]]  # inventory /v1/stock-levels by location
    jobs: list[dict[str, Any]]  # inventory /v1/print-jobs, in order of recording
    sukets: list[dict[str, Any]]  # inventory /v1/sukets outstanding

    def statuses(self) -> Counter[str]:
        return Counter(r["ektp_status"] for r in self.residents.values())

    def holding_suket(self) -> set[str]:
        return {nik for nik, r in self.residents.items() if r["suket_outstanding"]}


@dataclass
class Expected:
    statuses: Counter[str]
    suket_holders: int
    stock: dict[str, tuple[int, int]]  # location → (on hand, reserved)
    queue: Counter[str]  # print-job state → jobs


@dataclass
class Office:
    """The office's HTTP clients, one per role, with the scopes that role has."""

    fleet: Fleet
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    ROLES = {
        "clerk": ("residents", "residents:write residents:read"),
        "central": ("residents", "residents:central"),
        "partner": ("residents", "residents:status"),
        "planner": ("outreach", "outreach:plan outreach:record"),
        "printer": ("inventory", "inventory:print inventory:read"),
        "viewer": ("analytics", "analytics:read"),
        "anonymous": ("analytics", ""),
    }

    async def __aenter__(self) -> Office:
        for role, (service, scopes) in self.ROLES.items():
            headers = self.fleet.headers(scopes, client_id=f"e2e-{role}") if scopes else {}
            self.clients[role] = httpx.AsyncClient(
                base_url=self.fleet.url(service), headers=headers, timeout=10
            )
        return self

    async def __aexit__(self, *_: object) -> None:
        for client in self.clients.values():
            await client.aclose()

    def __getitem__(self, role: str) -> httpx.AsyncClient:
        return self.clients[role]

    async def call(
        self, role: str, method: str, path: str, expect: int = 200, **kwargs: Any
    ) -> Any:
        response = await self.clients[role].request(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json()

    async def observe(self) -> Observation:
        residents, coverage, progress, analytics_stock, stock, jobs, sukets = await asyncio.gather(
            self.call(
                "clerk", "GET", "/v1/residents", params={"district": DISTRICT, "page_size": 100}
            ),
            self.call("viewer", "GET", "/v1/coverage", params={"area": DISTRICT}),
            self.call("viewer", "GET", "/v1/progress", params={"area": REGENCY}),
            self.call("viewer", "GET", "/v1/stock", params={"area": REGENCY}),
            self.call("printer", "GET", "/v1/stock-levels"),
            self.call("printer", "GET", "/v1/print-jobs", params={"page_size": 100}),
            self.call("printer", "GET", "/v1/sukets", params={"page_size": 100}),
        )
        return Observation(
            residents={r["nik"]: r for r in residents["items"]},
            coverage=coverage,
            progress=progress,
            analytics_stock=analytics_stock,
            stock={s["location"]: s for s in stock},
            jobs=jobs["items"],
            sukets=sukets["items"],
        )

    async def converge(
        self, step: str, check: Callable[[], Awaitable[None]], seconds: float = CONVERGENCE_SECONDS
    ) -> None:
        """Poll until `check` passes; the time it took is the step's convergence time."""
        started = time.monotonic()
        while True:
            try:
                await check()
            except AssertionError as failure:
                if time.monotonic() - started > seconds:
                    logs = "\n".join(
                        f"--- {service} ---\n{self.fleet.logs(service, 1500)}"
                        for service in SERVICES
                    )
                    raise AssertionError(
                        f"{step}: the services did not agree within {seconds} s: {failure}\n{logs}"
                    ) from None
                await asyncio.sleep(0.1)
            else:
                self.timings[step] = time.monotonic() - started
                return

    async def agree(self, step: str, expected: Expected) -> Observation:
        seen: list[Observation] = []

        async def check() -> None:
            seen[:] = [await self.observe()]
            check_agreement(seen[0], expected)

        await self.converge(step, check)
        return seen[0]

    async def gauges_agree(self, step: str) -> None:
        async def check() -> None:
            seen = await self.observe()
            analytics = await self.metrics("analytics")
            inventory = await self.metrics("inventory")
            headline = seen.progress["area"]
            assert analytics.get(("jemput_coverage_eligible", REGENCY)) == headline["eligible"]
            assert analytics.get(("jemput_coverage_recorded", REGENCY)) == headline["recorded"]
            assert analytics.get(("jemput_coverage_ratio", REGENCY)) == pytest.approx(
                headline["coverage"]
            ), analytics
            district = seen.coverage["area"]
            assert analytics.get(("jemput_coverage_recorded", DISTRICT)) == district["recorded"]
            for location, level in seen.stock.items():
                # A location where no blank has moved is listed with zeros but has no gauge yet.
                moved = any(level[key] for key in ("on_hand", "reserved", "available"))
                for key in ("available", "on_hand", "reserved"):
                    gauge = inventory.get((f"jemput_blanks_{key}", location), None if moved else 0)
                    assert gauge == level[key], (location, key, gauge)

        await self.converge(f"{step} (gauges)", check)

    async def metrics(self, service: str) -> dict[tuple[str, str], float]:
        """The service's business gauges: (name, area or location) → value."""
        response = await self.clients["anonymous"].get(self.fleet.url(service) + "/metrics")
        assert response.status_code == 200
        values = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                label = sample.labels.get("area") or sample.labels.get("location")
                if label is not None:
                    values[(sample.name, label)] = sample.value
        return values


def check_agreement(seen: Observation, expected: Expected) -> None:
    residents = seen.residents.values()
    # The register: the statuses the step should have brought.
    assert len(seen.residents) == sum(a + c for a, c in VILLAGES.values())
    assert seen.statuses() == expected.statuses, seen.statuses()
    holders = seen.holding_suket()
    assert len(holders) == expected.suket_holders, sorted(holders)

    # Analytics' coverage of the district, and the dashboard's headline, equal the register's.
    eligible = sum(1 for r in residents if r["eligible"])
    recorded = sum(1 for r in residents if r["ektp_status"] in RECORDED_STATUSES)
    district = seen.coverage["area"]
    register_counts = {
        "residents": len(seen.residents),
        "eligible": eligible,
        "recorded": recorded,
        "print_ready": sum(1 for r in residents if r["ektp_status"] in CLEARED_STATUSES),
        "printed": sum(1 for r in residents if r["ektp_status"] in PRINTED_STATUSES),
        "issued": sum(1 for r in residents if r["ektp_status"] == "CARD_ISSUED"),
        "suket_outstanding": len(holders),
    }
    assert {k: district[k] for k in register_counts} == register_counts, district
    for village in seen.coverage["children"]:
        if village["code"] in VILLAGES:
            of_village = [r for r in residents if r["village_code"] == village["code"]]
            assert village["eligible"] == sum(1 for r in of_village if r["eligible"]), village
            assert village["recorded"] == sum(
                1 for r in of_village if r["ektp_status"] in RECORDED_STATUSES
            ), village
    headline = seen.progress["area"]
    assert (headline["eligible"], headline["recorded"]) == (eligible, recorded), headline
    assert headline["coverage"] == pytest.approx(recorded / eligible), headline

    # Stock: inventory's ledger, analytics' view of it and the dashboard's total are one.
    # Inventory lists every location, with zeros where no blank has moved; analytics knows
    # only the locations its events named.
    untouched = (0, 0, 0)
    levels = {
        loc: (s["on_hand"], s["reserved"], s["available"])
        for loc, s in seen.stock.items()
        if loc in expected.stock or (s["on_hand"], s["reserved"], s["available"]) != untouched
    }
    assert {loc: level[:2] for loc, level in levels.items()} == expected.stock
    mirrored = {
        s["location"]: (s["on_hand"], s["reserved"], s["available"])
        for s in seen.analytics_stock["locations"]
    }
    assert mirrored == levels, seen.analytics_stock
    total = seen.analytics_stock["total"]
    assert total["available"] == sum(s["available"] for s in seen.stock.values()), total

    # SUKETs: the same residents hold one in inventory and in the register; analytics agrees.
    assert {s["nik"] for s in seen.sukets} == holders
    assert seen.analytics_stock["suket_outstanding"] == len(holders)

    # The print queue follows the residents' lifecycle.
    assert Counter(job["state"] for job in seen.jobs) == expected.queue, [
        (j["state"], j["nik"]) for j in seen.jobs
    ]
    queue_status = {
        "waiting_for_clearance": {"SUDAH_REKAM"},
        "waiting_for_blank": {"SUDAH_REKAM", "PRINT_READY_RECORD"},
        "printable": {"PRINT_READY_RECORD"},
        "printed": {"CARD_PRINTED"},
        "issued": {"CARD_ISSUED"},
    }
    for job in seen.jobs:
        status = seen.residents[job["nik"]]["ektp_status"]
        assert status in queue_status[job["state"]], (job["state"], status)
        assert job["print_ready"] == (status in CLEARED_STATUSES), job
        assert (job["suket_number"] is not None) == (job["nik"] in holders), job
    backlog = sum(
        1
        for j in seen.jobs
        if j["print_ready"] and j["state"] in ("printable", "waiting_for_blank")
    )
    assert seen.analytics_stock["print_backlog"] == backlog, seen.analytics_stock


# --- the mission ------------------------------------------------------------------------------


async def test_the_mission_converges_across_the_four_services(fleet: Fleet) -> None:
    today = today_in_office()
    field_day = last_working_day_before(today)
    people = the_register(today)
    adults = [p for p in people if p.adult]
    to_record = [
        p
        for village, n in RECORDED_PER_VILLAGE.items()
        for p in [q for q in adults if q.village == village][:n]
    ]
    recorded_count = len(to_record)

    async with Office(fleet) as office:
        # 1. The register is imported; everyone is counted, nobody recorded yet.
        job = await office.call(
            "clerk",
            "POST",
            "/v1/import-jobs",
            expect=202,
            params={"file_name": "kayu-agung.csv"},
            content=register_csv(people),
            headers={"content-type": "text/csv"},
        )

        async def imported() -> None:
            state = await office.call("clerk", "GET", f"/v1/import-jobs/{job['id']}")
            assert state["state"] == "succeeded", state
            assert (state["created"], state["rejected"]) == (len(people), 0), state

        await office.converge("import job", imported)
        nothing = Expected(statuses(), 0, {}, Counter())
        await office.agree("register imported", nothing)

        # 2. Blanks arrive: fewer at the office than there will be recordings.
        await office.call(
            "printer",
            "POST",
            "/v1/receipts",
            expect=201,
            json={
                "quantity": FIRST_BLANKS,
                "allocation_reference": "B-001/DUKCAPIL/2026",
                "serial_from": "KTP-000001",
                "serial_to": f"KTP-{FIRST_BLANKS:06d}",
            },
        )
        await office.call(
            "printer",
            "POST",
            "/v1/receipts",
            expect=201,
            json={
                "location": DISTRICT,
                "quantity": DISTRICT_BLANKS,
                "allocation_reference": "B-002/DUKCAPIL/2026",
                "serial_from": "KTP-000101",
                "serial_to": f"KTP-{100 + DISTRICT_BLANKS:06d}",
            },
        )
        stock = {"office": (FIRST_BLANKS, 0), DISTRICT: (DISTRICT_BLANKS, 0)}
        await office.agree("blanks received", Expected(statuses(), 0, stock, Counter()))
        await office.gauges_agree("blanks received")

        # 3. Two teams go out on the last working day; outreach lives on that day meanwhile.
        morning = datetime.combine(field_day, clock_time(7, 30), WIB)
        await relaunch(fleet, "outreach", morning)
        on_the_day = fleet.issuer.local.token(
            "e2e-planner", ["outreach:plan", "outreach:record"], now=morning
        )
        planner = office["planner"]
        planner.headers["Authorization"] = f"Bearer {on_the_day}"
        sessions: dict[str, dict[str, Any]] = {}
        for number, village in enumerate(VILLAGES, start=1):
            team = await office.call(
                "planner",
                "POST",
                "/v1/teams",
                expect=201,
                json={"name": f"Tim {number}", "members": ["Andi", "Sari"], "base_code": DISTRICT},
            )
            kit = f"OKI-{number:03d}"
            await office.call(
                "planner",
                "POST",
                "/v1/kits",
                expect=201,
                json={"serial": kit, "team_id": team["id"]},
            )
            sessions[village] = await office.call(
                "planner",
                "POST",
                "/v1/sessions",
                expect=201,
                json={
                    "kind": "village_drive",
                    "village_code": village,
                    "day": field_day.isoformat(),
                    "team_id": team["id"],
                },
            )
            assert sessions[village]["kit_serials"] == [kit]

        async def booked() -> None:
            """The residents are booked once outreach's read model of the register has them."""
            for person in to_record:
                session_id = sessions[person.village]["id"]
                response = await planner.post(
                    f"/v1/sessions/{session_id}/appointments", json={"nik": person.nik}
                )
                assert response.status_code in (200, 201), response.text

        await office.converge("outreach knows the register", booked)
        for session in sessions.values():
            started = await office.call("planner", "POST", f"/v1/sessions/{session['id']}:start")
            assert started["status"] == "in_progress"

        # 4. Back on today's clock, the kits upload the day's recordings in one offline batch.
        await relaunch(fleet, "outreach", None)
        planner.headers.update(fleet.headers("outreach:plan outreach:record", client_id="e2e-kit"))
        captured = {
            p.nik: datetime.combine(field_day, clock_time(9, 0), WIB) + timedelta(minutes=7 * i)
            for i, p in enumerate(to_record)
        }
        batch = [
            {
                "session_id": sessions[p.village]["id"],
                "recording_id": uuid.uuid4().hex,
                "nik": p.nik,
                "captured_at": captured[p.nik].isoformat(),
                "kit_serial": sessions[p.village]["kit_serials"][0],
                "operator": "Andi",
                "captured": ["photo", "fingerprints", "iris", "signature"],
            }
            for p in to_record
        ]
        uploaded = await office.call(
            "planner", "POST", "/v1/recordings:batch", json={"recordings": batch}
        )
        assert uploaded["accepted"] == recorded_count, uploaded
        assert not any(item["recording"]["unknown_nik"] for item in uploaded["results"])
        # The resend of a batch (a kit that lost the answer) changes nothing anywhere.
        again = await office.call(
            "planner", "POST", "/v1/recordings:batch", json={"recordings": batch}
        )
        assert again["duplicates"] == recorded_count, again

        waiting = recorded_count - FIRST_BLANKS
        recorded = Expected(
            statuses(sudah_rekam=recorded_count),
            waiting,
            {"office": (FIRST_BLANKS, FIRST_BLANKS), DISTRICT: (DISTRICT_BLANKS, 0)},
            Counter({"waiting_for_clearance": FIRST_BLANKS, "waiting_for_blank": waiting}),
        )
        seen = await office.agree("recordings uploaded", recorded)
        assert seen.coverage["area"]["coverage"] == pytest.approx(recorded_count / len(adults))
        await office.gauges_agree("recordings uploaded")

        # 5. The national system clears every recording.
        cleared = await office.call(
            "central",
            "POST",
            "/v1/central-results",
            json={"results": [{"nik": p.nik, "result": "PRINT_READY_RECORD"} for p in to_record]},
        )
        assert {r["outcome"] for r in cleared["results"]} == {"applied"}, cleared
        print_ready = Expected(
            statuses(print_ready=recorded_count),
            waiting,
            recorded.stock,
            Counter({"printable": FIRST_BLANKS, "waiting_for_blank": waiting}),
        )
        seen = await office.agree("print-ready", print_ready)

        # 6. The cards that have blanks are printed and handed over.
        serials = iter(f"KTP-{n:06d}" for n in range(1, FIRST_BLANKS + MORE_BLANKS + 1))
        first_cards = [j for j in seen.jobs if j["state"] == "printable"]
        await print_and_issue(office, first_cards, serials)
        issued_first = Expected(
            statuses(print_ready=recorded_count - FIRST_BLANKS, card_issued=FIRST_BLANKS),
            waiting,
            {"office": (0, 0), DISTRICT: (DISTRICT_BLANKS, 0)},
            Counter({"issued": FIRST_BLANKS, "waiting_for_blank": waiting}),
        )
        seen = await office.agree("first cards issued", issued_first)
        # Waiting jobs are listed in order of recording, the order blanks will serve them.
        waiting_jobs = [j for j in seen.jobs if j["state"] == "waiting_for_blank"]
        assert [j["nik"] for j in waiting_jobs] == sorted(
            (j["nik"] for j in waiting_jobs), key=lambda nik: captured[nik]
        )

        # 7. More blanks arrive: the longest-waiting jobs take them, oldest recording first.
        receipt = await office.call(
            "printer",
            "POST",
            "/v1/receipts",
            expect=201,
            json={
                "quantity": MORE_BLANKS,
                "allocation_reference": "B-003/DUKCAPIL/2026",
                "serial_from": f"KTP-{FIRST_BLANKS + 1:06d}",
                "serial_to": f"KTP-{FIRST_BLANKS + MORE_BLANKS:06d}",
            },
        )
        assert receipt["waiting_jobs_served"] == MORE_BLANKS
        still_waiting = waiting - MORE_BLANKS
        served = Expected(
            issued_first.statuses,
            waiting,  # SUKETs are cleared when the card is handed over, not before
            {"office": (MORE_BLANKS, MORE_BLANKS), DISTRICT: (DISTRICT_BLANKS, 0)},
            Counter(
                {
                    "issued": FIRST_BLANKS,
                    "printable": MORE_BLANKS,
                    "waiting_for_blank": still_waiting,
                }
            ),
        )
        seen = await office.agree("more blanks received", served)
        by_id = {j["id"]: j["state"] for j in seen.jobs}
        assert [by_id[j["id"]] for j in waiting_jobs] == ["printable"] * MORE_BLANKS + [
            "waiting_for_blank"
        ] * still_waiting
        await office.gauges_agree("more blanks received")

        # 8. Those cards are printed and handed over; one resident still holds a SUKET.
        await print_and_issue(office, [j for j in seen.jobs if j["state"] == "printable"], serials)
        issued = FIRST_BLANKS + MORE_BLANKS
        done = Expected(
            statuses(print_ready=recorded_count - issued, card_issued=issued),
            still_waiting,
            {"office": (0, 0), DISTRICT: (DISTRICT_BLANKS, 0)},
            Counter({"issued": issued, "waiting_for_blank": still_waiting}),
        )
        seen = await office.agree("all blanks printed", done)
        last = waiting_jobs[-1]["nik"]
        assert seen.holding_suket() == {last}
        partner = await office.call(
            "partner",
            "GET",
            f"/v1/residents/{last}/ektp-status",
            headers={"X-Purpose": "bansos eligibility check"},
        )
        assert (partner["ektp_status"], partner["suket_outstanding"]) == (
            "PRINT_READY_RECORD",
            True,
        )

        # 9. The teams close their sessions out; analytics counts their work.
        for village, session in sessions.items():
            await office.call(
                "planner",
                "POST",
                f"/v1/sessions/{session['id']}:close",
                json={
                    "outcomes": {
                        "recorded": RECORDED_PER_VILLAGE[village],
                        "failed_to_record": 0,
                        "under_age": 0,
                        "already_has_card": 0,
                        "absent": 0,
                    },
                    "kit_counts": {session["kit_serials"][0]: RECORDED_PER_VILLAGE[village]},
                },
            )

        async def productivity() -> None:
            report = await office.call(
                "viewer",
                "GET",
                "/v1/outreach/productivity",
                params={"from": field_day.isoformat(), "to": today.isoformat()},
            )
            assert report["sessions_completed"] == len(sessions), report
            assert report["recordings"] == recorded_count, report

        await office.converge("sessions closed", productivity)
        await office.gauges_agree("all blanks printed")

        # The dashboard page is served, and reads the APIs checked above.
        page = await office["anonymous"].get(fleet.url("analytics") + "/")
        assert page.status_code == 200 and "regency-coverage" in page.text

    report = "\n".join(
        [
            "Seconds from a step's last request to every service agreeing on it:",
            *(f"  {step:<40} {seconds:6.2f}" for step, seconds in office.timings.items()),
        ]
    )
    print("\n" + report)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "mission-convergence.txt").write_text(report + "\n", encoding="utf-8")
    for service in SERVICES:
        assert "Traceback" not in fleet.logs(service, 10**7), f"{service} logged a traceback"


async def print_and_issue(office: Office, jobs: list[dict[str, Any]], serials: Any) -> None:
    for job in jobs:
        printed = await office.call(
            "printer",
            "POST",
            f"/v1/print-jobs/{job['id']}:print",
            json={"card_serial": next(serials)},
        )
        assert printed["state"] == "printed", printed
        handed = await office.call("printer", "POST", f"/v1/print-jobs/{job['id']}:issue")
        assert handed["state"] == "issued", handed


async def test_a_register_of_recorded_residents_fills_the_print_queue(fleet: Fleet) -> None:
    """A register whose rows say SUDAH_REKAM or PRINT_READY_RECORD (no recording day given)
    puts those residents in inventory's print queue, in their own villages, dated by the
    import and listed in that order; with no blank they hold SUKETs and the forecast owes
    their cards and asks the ministry for them. The central result for the imported
    SUDAH_REKAM residents keeps their jobs, villages, days and SUKETs; arriving blanks serve
    them in the order listed."""
    people = the_register(today_in_office())
    by_nik = {p.nik: p for p in people}
    adults = [p for p in people if p.adult]
    sudah_rekam = [p.nik for p in adults[:3]]  # Kayu Agung's first village
    cleared = [p.nik for p in adults[10:12]]  # its second village
    ektp = (
        dict.fromkeys(sudah_rekam, "SUDAH_REKAM")
        | dict.fromkeys(cleared, "PRINT_READY_RECORD")
        | {adults[5].nik: "CARD_ISSUED"}  # has a card: no job
    )
    owed = len(sudah_rekam) + len(cleared)

    async with Office(fleet) as office:

        async def forecast_owes(cards: int) -> None:
            found = await office.call("printer", "GET", "/v1/forecast")
            assert found["print_ready_backlog"] + found["sukets_waiting_for_blank"] == cards, found
            # No day of use is over yet: the whole request is the cards owed.
            assert found["suggested_request"] == cards, found

        before = datetime.now(WIB)
        job = await office.call(
            "clerk",
            "POST",
            "/v1/import-jobs",
            expect=202,
            params={"file_name": "kayu-agung.csv"},
            content=register_csv(people, ektp),
            headers={"content-type": "text/csv"},
        )

        async def imported() -> None:
            state = await office.call("clerk", "GET", f"/v1/import-jobs/{job['id']}")
            assert state["state"] == "succeeded", state

        await office.converge("import job", imported)
        after = datetime.now(WIB)
        queued = Expected(
            statuses(sudah_rekam=len(sudah_rekam), print_ready=len(cleared), card_issued=1),
            owed,
            {},
            Counter({"waiting_for_blank": owed}),
        )
        seen = await office.agree("recorded register imported", queued)
        assert {j["nik"] for j in seen.jobs} == set(sudah_rekam) | set(cleared)
        days = [datetime.fromisoformat(j["recorded_at"]) for j in seen.jobs]
        assert days == sorted(days)
        assert all(before <= day <= after for day in days), (before, days, after)
        for found in seen.jobs:
            assert found["village_code"] == by_nik[found["nik"]].village, found
            assert found["print_ready"] == (found["nik"] in cleared), found
        await office.converge("forecast owes the imported", lambda: forecast_owes(owed))

        # The national system clears the imported SUDAH_REKAM residents.
        results = await office.call(
            "central",
            "POST",
            "/v1/central-results",
            json={"results": [{"nik": n, "result": "PRINT_READY_RECORD"} for n in sudah_rekam]},
        )
        assert {r["outcome"] for r in results["results"]} == {"applied"}, results
        all_cleared = Expected(
            statuses(print_ready=owed, card_issued=1),
            owed,
            {},
            Counter({"waiting_for_blank": owed}),
        )
        kept = {
            j["id"]: (j["village_code"], j["recorded_at"], j["suket_number"]) for j in seen.jobs
        }
        seen = await office.agree("imported residents cleared", all_cleared)
        assert all(j["print_ready"] for j in seen.jobs)
        assert {
            j["id"]: (j["village_code"], j["recorded_at"], j["suket_number"]) for j in seen.jobs
        } == kept

        # Two blanks arrive: the first two of the queue take them.
        receipt = await office.call(
            "printer",
            "POST",
            "/v1/receipts",
            expect=201,
            json={
                "quantity": 2,
                "allocation_reference": "B-001/DUKCAPIL/2026",
                "serial_from": "KTP-000001",
                "serial_to": "KTP-000002",
            },
        )
        assert receipt["waiting_jobs_served"] == 2
        served = Expected(
            all_cleared.statuses,
            owed,  # SUKETs are cleared when the card is handed over, not before
            {"office": (2, 2)},
            Counter({"printable": 2, "waiting_for_blank": owed - 2}),
        )
        after_receipt = await office.agree("blanks serve the imported", served)
        states = {j["id"]: j["state"] for j in after_receipt.jobs}
        assert [states[j["id"]] for j in seen.jobs] == ["printable"] * 2 + ["waiting_for_blank"] * (
            owed - 2
        )
        await office.converge("forecast owes the rest", lambda: forecast_owes(owed - 2))
    for service in SERVICES:
        assert "Traceback" not in fleet.logs(service, 10**7), f"{service} logged a traceback"
