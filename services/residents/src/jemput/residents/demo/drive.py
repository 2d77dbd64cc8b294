"""Play a drive's story (`story.py`) on running services, through their public HTTP APIs only,
as the office, its field teams, the national system and the ministry would.

The order follows 2017: the office starts with fewer blanks than the register's print queue;
the register is imported (about 80% of the eligible recorded, with their recording days), the
queue takes the blanks in order of recording and the rest get SUKETs; the teams' sessions in
villages, schools and homes are uploaded as offline batches, and every new recording gets a
SUKET since no blank is left; the national system clears most recordings and flags a few
duplicates; the cards that have blanks are printed and most handed over; the office asks the
ministry for blanks, part of the request arrives and serves the longest-waiting residents,
whose cards are printed and handed over in turn.

Sessions are scheduled for today (the services refuse days past), so the run must be on a
working day. Between steps the driver waits until analytics, which reads every service's
events, shows the step's effect: that is how the office would know the services agree.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from jemput.residents.demo.story import (
    DUPLICATE_RESULT,
    PRINT_READY_RESULT,
    DrivePlan,
    FieldSession,
)
from jemput.shared.timezone import OFFICE_TIMEZONE

__all__ = [
    "DriveError",
    "DriveReport",
    "Endpoints",
    "NoProgress",
    "Office",
    "Progress",
    "TokenMaker",
    "play",
]

WIB = ZoneInfo(OFFICE_TIMEZONE)
BATCH = 1000  # recordings per offline upload (the API's maximum)
RESULTS_PER_REQUEST = 10_000
PAGE = 500
CONCURRENCY = 8
SERIAL_DIGITS = 9
ALL_BIOMETRICS = ["photo", "fingerprints", "iris", "signature"]
ODGJ_BIOMETRICS = ["photo", "fingerprints"]

# The roles of the office and its partners, each with only the scopes it needs.
ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "clerk": ("residents", ("residents:write", "residents:read")),
    "central": ("residents", ("residents:central",)),
    "planner": ("outreach", ("outreach:plan", "outreach:record")),
    "printer": ("inventory", ("inventory:print", "inventory:read")),
    "viewer": ("analytics", ("analytics:read",)),
}

TokenMaker = Callable[[str, Sequence[str]], str]


class DriveError(RuntimeError):
    """The story cannot go on; the message is for office staff (Bahasa Indonesia)."""


class Progress(Protocol):
    """A bar per step: `step` starts one (`total` None while unknown), `resize` sets its
    total once known, `advance` moves it."""

    def step(self, label: str, total: int | None) -> None: ...

    def resize(self, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class NoProgress:
    def step(self, label: str, total: int | None) -> None:
        pass

    def resize(self, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Endpoints:
    residents: str = "http://127.0.0.1:8001"
    outreach: str = "http://127.0.0.1:8002"
    inventory: str = "http://127.0.0.1:8003"
    analytics: str = "http://127.0.0.1:8004"

    def of(self, service: str) -> str:
        url: str = getattr(self, service)
        return url.rstrip("/")


@dataclass(slots=True)
class DriveReport:
    """What happened, as the services answered it."""

    residents: int = 0
    eligible: int = 0
    coverage_before: float = 0.0
    coverage_after: float = 0.0
    recorded_before: int = 0
    recorded_after: int = 0
    issued_before: int = 0  # cards the register says were issued before the drive
    opening_stock: int = 0
    sukets_after_import: int = 0
    sukets_peak: int = 0
    sukets_after: int = 0
    sessions: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    recordings_accepted: int = 0
    unknown_niks: int = 0
    cleared: int = 0
    duplicates: int = 0
    requested: int = 0
    allocation: int = 0
    waiting_served: int = 0
    printed: int = 0
    issued: int = 0
    seconds: float = 0.0


class Office:
    """One HTTP client per role, each with its own token."""

    def __init__(self, endpoints: Endpoints, tokens: TokenMaker, *, timeout: float = 120) -> None:
        self.clients = {
            role: httpx.AsyncClient(
                base_url=endpoints.of(service),
                headers={"Authorization": f"Bearer {tokens(f'demo-{role}', scopes)}"},
                timeout=timeout,
            )
            for role, (service, scopes) in ROLES.items()
        }

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def call(
        self, role: str, method: str, path: str, *, expect: int = 200, **kwargs: Any
    ) -> Any:
        try:
            response = await self.clients[role].request(method, path, **kwargs)
        except httpx.HTTPError as error:
            base = self.clients[role].base_url
            raise DriveError(f"Layanan {base} tidak bisa dihubungi ({error!r}).") from error
        if response.status_code != expect:
            raise DriveError(
                f"{method} {path} menjawab {response.status_code}, bukan {expect}: "
                f"{response.text[:500]}"
            )
        return response.json()

    async def coverage(self, area: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.call(
            "viewer", "GET", "/v1/coverage", params={"area": area}
        )
        return found["area"]

    async def pages(
        self, role: str, path: str, params: dict[str, Any]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        token = None
        while True:
            paging = {"page_size": PAGE} | ({"page_token": token} if token else {})
            page = await self.call(role, "GET", path, params=params | paging)
            yield page["items"]
            token = page.get("next_page_token")
            if not token:
                return

    async def import_register(self, register: Path, progress: Progress) -> dict[str, Any]:
        """Upload the register file and follow the import job until it is done."""
        size = (await asyncio.to_thread(register.stat)).st_size
        progress.step("Mengunggah register penduduk (byte)", size)

        async def chunks() -> AsyncIterator[bytes]:
            with register.open("rb") as stream:
                while piece := await asyncio.to_thread(stream.read, 1 << 20):
                    progress.advance(len(piece))
                    yield piece

        job = await self.call(
            "clerk",
            "POST",
            "/v1/import-jobs",
            expect=202,
            params={"file_name": register.name},
            content=chunks(),
            headers={"content-type": "text/csv; charset=utf-8"},
        )
        progress.step("Impor register penduduk (baris)", None)
        done = 0
        while True:
            state = await self.call("clerk", "GET", f"/v1/import-jobs/{job['id']}")
            if state["total_rows"]:
                progress.resize(state["total_rows"])
                progress.advance(state["processed_rows"])
                done = state["processed_rows"]
                break
            await asyncio.sleep(0.5)
        while state["state"] not in ("succeeded", "failed"):
            await asyncio.sleep(0.5)
            state = await self.call("clerk", "GET", f"/v1/import-jobs/{job['id']}")
            progress.advance(state["processed_rows"] - done)
            done = state["processed_rows"]
        if state["state"] != "succeeded" or state["rejected"]:
            raise DriveError(f"Impor register gagal atau menolak baris: {state}")
        return state


async def until(
    what: str, check: Callable[[], Awaitable[bool]], *, seconds: float, every: float = 0.5
) -> None:
    """Poll `check` until it holds; the services apply each other's events within seconds."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise DriveError(f"Menunggu terlalu lama: {what} (lebih dari {seconds:.0f} detik).")
        await asyncio.sleep(every)


async def gather_limited(jobs: Sequence[Awaitable[Any]], limit: int = CONCURRENCY) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


def _recording_id(seed: int, nik: str) -> str:
    """The kit's id of a recording: the same story uploads the same ids (resend-safe)."""
    return uuid.UUID(bytes=hashlib.sha256(f"{seed}-rec-{nik}".encode()).digest()[:16]).hex


@dataclass
class _Blanks:
    """Blank serials in the order the office received them, handed to prints one by one."""

    prefix: str = "KTP-"
    received: int = 0
    used: int = 0

    def receive(self, quantity: int) -> tuple[str, str]:
        first, self.received = self.received + 1, self.received + quantity
        return self.serial(first), self.serial(self.received)

    def next(self) -> str:
        self.used += 1
        return self.serial(self.used)

    def serial(self, number: int) -> str:
        return f"{self.prefix}{number:0{SERIAL_DIGITS}d}"


async def play(
    plan: DrivePlan,
    register: Path,
    endpoints: Endpoints,
    tokens: TokenMaker,
    *,
    progress: Progress | None = None,
    wait_seconds: float = 600,
    now: Callable[[], datetime] = lambda: datetime.now(WIB),
) -> DriveReport:
    """Play `plan` (whose register file is `register`) on the services at `endpoints`."""
    progress = progress or NoProgress()
    started = asyncio.get_running_loop().time()
    office = Office(endpoints, tokens)
    try:
        report = await _play(office, plan, register, progress, wait_seconds, now)
    finally:
        await office.aclose()
    report.seconds = asyncio.get_running_loop().time() - started
    return report


async def _play(
    office: Office,
    plan: DrivePlan,
    register: Path,
    progress: Progress,
    wait_seconds: float,
    now: Callable[[], datetime],
) -> DriveReport:
    area = plan.options.area_code
    report = DriveReport(opening_stock=plan.opening_stock)
    blanks = _Blanks()

    progress.step("Memeriksa layanan", 2)
    used = [
        (await office.coverage(area))["residents"],
        (await office.call("printer", "GET", "/v1/ledger", params={"page_size": 1}))["items"],
        (await office.call("planner", "GET", "/v1/teams", params={"page_size": 1}))["items"],
    ]
    if any(used):
        raise DriveError(
            "Layanan sudah berisi data. Demo dimainkan pada sistem yang kosong: "
            "jalankan `make clean && make up`, lalu `make demo`."
        )
    progress.advance()

    # Sessions are for today, so today must be a working day: asked before anything is written.
    today = now().date()
    calendar = await office.call(
        "planner", "GET", "/v1/plan", params={"from": today.isoformat(), "to": today.isoformat()}
    )
    if today.isoformat() not in calendar["working_days"]:
        off = ", ".join(d["name"] or d["kind"] for d in calendar["days_off"]) or "libur"
        raise DriveError(
            f"Hari ini ({today.isoformat()}: {off}) bukan hari kerja: tim jemput bola tidak "
            "bisa dijadwalkan. Jalankan demo pada hari kerja."
        )
    progress.advance()
    sessions = await _schedule(office, plan, today, progress)

    # 2017: the office has blanks for a part of the register's queue only.
    progress.step("Stok awal blangko diterima", 1)
    first, last = blanks.receive(plan.opening_stock)
    await office.call(
        "printer",
        "POST",
        "/v1/receipts",
        expect=201,
        json={
            "quantity": plan.opening_stock,
            "allocation_reference": f"ALOKASI-1/DUKCAPIL/{today.year}",
            "serial_from": first,
            "serial_to": last,
            "note": "Stok awal",
        },
    )
    progress.advance()

    await office.import_register(register, progress)
    waiting_after_import = max(plan.register_queue - plan.opening_stock, 0)
    progress.step("Menunggu register sampai ke semua layanan", 1)
    before: dict[str, Any] = {}

    async def register_everywhere() -> bool:
        before.update(await office.coverage(area))
        return bool(
            before["residents"] == plan.residents
            and before["suket_outstanding"] == waiting_after_import
        )

    await until("register di analitik dan SUKET antrean", register_everywhere, seconds=wait_seconds)
    progress.advance()
    report.residents = before["residents"]
    report.recorded_before = before["recorded"]
    report.coverage_before = before["coverage"] or 0.0
    report.sukets_after_import = before["suket_outstanding"]
    report.issued_before = before["issued"]

    # The field sessions: started, recorded offline, uploaded in batches, closed out.
    await gather_limited(
        [office.call("planner", "POST", f"/v1/sessions/{sid}:start") for sid, _ in sessions]
    )
    await _upload(office, plan, sessions, report, progress, now)
    await _close(office, sessions, progress)
    report.sessions = {
        kind: plan.sessions_of(kind) for kind in ("village_drive", "school_drive", "home_visit")
    }

    recorded = before["recorded"] + report.recordings_accepted
    free_blanks = max(plan.opening_stock - plan.register_queue, 0)
    expected_sukets = waiting_after_import + max(report.recordings_accepted - free_blanks, 0)
    progress.step("Menunggu rekaman sampai ke semua layanan", 1)
    seen: dict[str, Any] = {}

    async def recordings_everywhere() -> bool:
        seen.update(await office.coverage(area))
        return bool(seen["recorded"] == recorded and seen["suket_outstanding"] == expected_sukets)

    await until("rekaman lapangan dan SUKET", recordings_everywhere, seconds=wait_seconds)
    progress.advance()
    report.sukets_peak = seen["suket_outstanding"]

    # The national system's answers.
    duplicates = plan.field_results(DUPLICATE_RESULT)
    cleared = [*plan.register_to_clear, *plan.field_results(PRINT_READY_RESULT)]
    await _central_results(office, cleared, duplicates, report, progress, wait_seconds)
    print_ready = seen["print_ready"] + report.cleared
    # Every field recording holds a SUKET (the opening stock is below the register's queue), so
    # each duplicate's SUKET is revoked.
    owed = report.sukets_peak - report.duplicates if free_blanks == 0 else None
    progress.step("Menunggu hasil pusat sampai ke semua layanan", 1)

    async def results_everywhere() -> bool:
        seen.update(await office.coverage(area))
        return bool(
            seen["print_ready"] == print_ready
            and seen["duplicates"] == report.duplicates
            and owed in (None, seen["suket_outstanding"])
        )

    await until("hasil print-ready dan duplikat", results_everywhere, seconds=wait_seconds)
    progress.advance()

    # Cards for the residents who have blanks.
    clearances = set(cleared)
    await _print_and_hand_over(
        office, plan, blanks, clearances, report, progress, "Cetak KTP-el (stok awal)", wait_seconds
    )

    # The office asks the ministry for blanks; part of the request arrives.
    progress.step("Permintaan blangko ke Kementerian", 1)
    report.requested = max((await office.coverage(area))["suket_outstanding"], 1)
    request = await office.call(
        "printer",
        "POST",
        "/v1/requests",
        expect=201,
        json={
            "quantity": report.requested,
            "signed_by": "Kepala Dinas Dukcapil",
            "note": "Blangko habis; warga menerima SUKET.",
        },
    )
    progress.advance()
    progress.step("Alokasi blangko dari Kementerian diterima", 1)
    report.allocation = max(1, math.floor(report.requested * plan.options.allocation_share))
    first, last = blanks.receive(report.allocation)
    receipt = await office.call(
        "printer",
        "POST",
        "/v1/receipts",
        expect=201,
        json={
            "quantity": report.allocation,
            "allocation_reference": f"ALOKASI-2/DUKCAPIL/{today.year}",
            "serial_from": first,
            "serial_to": last,
            "request_id": request["id"],
        },
    )
    report.waiting_served = receipt["waiting_jobs_served"]
    progress.advance()
    await _print_and_hand_over(
        office, plan, blanks, clearances, report, progress, "Cetak KTP-el (alokasi)", wait_seconds
    )

    progress.step("Menunggu angka akhir di dasbor", 1)
    final: dict[str, Any] = {}

    async def cards_everywhere() -> bool:
        final.update(await office.coverage(area))
        return bool(final["issued"] == report.issued_before + report.issued)

    await until("kartu diserahkan", cards_everywhere, seconds=wait_seconds)
    progress.advance()
    report.eligible = final["eligible"]
    report.recorded_after = final["recorded"]
    report.coverage_after = final["coverage"] or 0.0
    report.sukets_after = final["suket_outstanding"]
    return report


async def _schedule(
    office: Office, plan: DrivePlan, day: Any, progress: Progress
) -> list[tuple[str, FieldSession]]:
    """A team with its kits for each session, and the session, scheduled for `day`."""
    progress.step("Tim, alat rekam dan jadwal jemput bola", len(plan.sessions))
    serials = iter(range(1, 1 + sum(s.kits for s in plan.sessions)))
    kit_serials = {
        s.key: [f"KIT-{next(serials):05d}" for _ in range(s.kits)] for s in plan.sessions
    }

    async def one(field_session: FieldSession) -> tuple[str, FieldSession]:
        team = await office.call(
            "planner",
            "POST",
            "/v1/teams",
            expect=201,
            json={
                "name": f"Tim {field_session.key}",
                "members": ["Operator 1", "Operator 2"],
                "base_code": field_session.district_code,
            },
        )
        for serial in kit_serials[field_session.key]:
            await office.call(
                "planner",
                "POST",
                "/v1/kits",
                expect=201,
                json={"serial": serial, "team_id": team["id"]},
            )
        response = await office.clients["planner"].post(
            "/v1/sessions",
            json={
                "kind": field_session.kind,
                "village_code": field_session.village_code,
                "day": day.isoformat(),
                "team_id": team["id"],
            },
        )
        if response.status_code != 201:
            raise DriveError(f"Jadwal sesi ditolak ({response.status_code}): {response.text}")
        progress.advance()
        return str(response.json()["id"]), field_session

    return await gather_limited([one(s) for s in plan.sessions])


async def _upload(
    office: Office,
    plan: DrivePlan,
    sessions: list[tuple[str, FieldSession]],
    report: DriveReport,
    progress: Progress,
    now: Callable[[], datetime],
) -> None:
    """Each session's recordings in offline batches, captured through the day so far."""
    progress.step("Unggah rekaman lapangan (batch offline)", plan.field_recordings)
    moment = now()
    # Recorded since the morning (or since midnight, on an early run): never in the future.
    morning = datetime.combine(moment.date(), time(7, 30), WIB)
    if moment <= morning:
        morning = datetime.combine(moment.date(), time(0, 0), WIB)
    span = (moment - morning) - timedelta(seconds=1)
    kits: dict[str, list[str]] = {}
    found = await gather_limited(
        [office.call("planner", "GET", f"/v1/sessions/{sid}") for sid, _ in sessions]
    )
    for (sid, _), found_session in zip(sessions, found, strict=True):
        kits[sid] = found_session["kit_serials"]

    batches: list[list[dict[str, Any]]] = []
    for sid, field_session in sessions:
        count = len(field_session.recordings)
        items = [
            {
                "session_id": sid,
                "recording_id": _recording_id(plan.options.seed, recording.nik),
                "nik": recording.nik,
                "captured_at": (morning + span * ((index + 1) / (count + 1))).isoformat(),
                "kit_serial": kits[sid][index % len(kits[sid])],
                "operator": "Operator 1",
                "captured": ODGJ_BIOMETRICS if recording.odgj else ALL_BIOMETRICS,
            }
            for index, recording in enumerate(field_session.recordings)
        ]
        batches.extend(items[i : i + BATCH] for i in range(0, len(items), BATCH))

    async def send(batch: list[dict[str, Any]]) -> None:
        answer = await office.call(
            "planner", "POST", "/v1/recordings:batch", json={"recordings": batch}
        )
        if answer["rejected"] or answer["conflicts"]:
            raise DriveError(f"Rekaman ditolak: {answer['results'][:3]}")
        report.batches += 1
        report.recordings_accepted += answer["accepted"] + answer["duplicates"]
        report.unknown_niks += sum(
            1 for item in answer["results"] if (item["recording"] or {}).get("unknown_nik")
        )
        progress.advance(len(batch))

    await gather_limited([send(batch) for batch in batches], limit=4)


async def _close(
    office: Office, sessions: list[tuple[str, FieldSession]], progress: Progress
) -> None:
    progress.step("Penutupan sesi dengan hasilnya", len(sessions))

    async def close(sid: str, field_session: FieldSession) -> None:
        found = await office.call("planner", "GET", f"/v1/sessions/{sid}")
        kits = found["kit_serials"]
        counts = dict.fromkeys(kits, 0)
        for index in range(len(field_session.recordings)):
            counts[kits[index % len(kits)]] += 1
        await office.call(
            "planner",
            "POST",
            f"/v1/sessions/{sid}:close",
            json={
                "outcomes": {
                    "recorded": len(field_session.recordings),
                    "failed_to_record": 0,
                    "under_age": 0,
                    "already_has_card": 0,
                    "absent": field_session.absent,
                },
                "kit_counts": counts,
            },
        )
        progress.advance()

    await gather_limited([close(sid, s) for sid, s in sessions])


async def _central_results(
    office: Office,
    cleared: list[str],
    duplicates: list[str],
    report: DriveReport,
    progress: Progress,
    wait_seconds: float,
) -> None:
    """Send the national system's answers; one the register refuses because it has not yet
    applied the resident's recording is sent again a little later."""
    results = {nik: PRINT_READY_RESULT for nik in cleared} | dict.fromkeys(
        duplicates, DUPLICATE_RESULT
    )
    progress.step("Hasil pusat: print-ready dan duplikat", len(results))
    pending = list(results)
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while pending:
        refused: list[str] = []
        for start in range(0, len(pending), RESULTS_PER_REQUEST):
            chunk = pending[start : start + RESULTS_PER_REQUEST]
            answer = await office.call(
                "central",
                "POST",
                "/v1/central-results",
                json={"results": [{"nik": nik, "result": results[nik]} for nik in chunk]},
            )
            for item in answer["results"]:
                if item["outcome"] in ("applied", "unchanged"):
                    progress.advance()
                    if results[item["nik"]] == DUPLICATE_RESULT:
                        report.duplicates += 1
                    else:
                        report.cleared += 1
                else:
                    refused.append(item["nik"])
        pending = refused
        if pending:
            if asyncio.get_running_loop().time() > deadline:
                raise DriveError(f"{len(pending)} hasil pusat tetap ditolak register.")
            await asyncio.sleep(1)


async def _print_and_hand_over(
    office: Office,
    plan: DrivePlan,
    blanks: _Blanks,
    cleared: set[str],
    report: DriveReport,
    progress: Progress,
    label: str,
    wait_seconds: float,
) -> None:
    """Print every printable job in queue order; hand over the cards their holders collect.
    Inventory applies the print-ready results on its own time: the queue is read again until
    no job with a blank waits for a clearance the national system has already given."""
    progress.step(label, None)
    total = 0
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        jobs = await _jobs(office, "printable")
        if not jobs:
            waiting = await _jobs(office, "waiting_for_clearance")
            if not any(job["nik"] in cleared for job in waiting):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise DriveError("Antrean cetak tidak menerima hasil print-ready dari register.")
            await asyncio.sleep(0.5)
            continue
        total += len(jobs)
        progress.resize(total)

        async def one(job: dict[str, Any], serial: str) -> None:
            await office.call(
                "printer",
                "POST",
                f"/v1/print-jobs/{job['id']}:print",
                json={"card_serial": serial},
            )
            report.printed += 1
            if plan.handed_over(job["nik"]):
                await office.call("printer", "POST", f"/v1/print-jobs/{job['id']}:issue")
                report.issued += 1
            progress.advance()

        await gather_limited([one(job, blanks.next()) for job in jobs])


async def _jobs(office: Office, state: str) -> list[dict[str, Any]]:
    return [
        job
        async for page in office.pages("printer", "/v1/print-jobs", {"state": state})
        for job in page
    ]
