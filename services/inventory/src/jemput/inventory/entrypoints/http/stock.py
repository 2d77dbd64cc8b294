"""`/v1/stock-levels` and `/v1/ledger`, and the movements staff make by hand: receipts of blanks,
transfers between locations, returns to the ministry, physical counts and reversals of mistaken
entries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from jemput.inventory.adapters.tables import DEFAULT_LOW_THRESHOLD, LedgerEntry
from jemput.inventory.domain.ledger import EntryKind
from jemput.inventory.domain.serials import SERIAL_PATTERN
from jemput.inventory.entrypoints.http.access import Operator, Reader, actor
from jemput.inventory.entrypoints.http.deps import (
    EARLIEST,
    LATEST,
    LOCATION_DESCRIPTION,
    LOCATION_PATTERN,
    OFFICE,
    ClockDep,
    Once,
    SettingsDep,
    area_of,
    check_location,
    id_cursor,
    locations,
    problem_responses,
    refusals_as_conflicts,
    visible,
)
from jemput.inventory.service_layer import print_queue, queries, requests, stock
from jemput.inventory.service_layer.problems import field, invalid
from jemput.shared.http.pagination import Page, PageSize, PageToken, cut_page
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.http.types import IsoDate, WholeNumber
from jemput.shared.security import ensure_may_see

router = APIRouter(tags=["stock and ledger"])

LocationQuery = Annotated[
    str | None, Query(pattern=LOCATION_PATTERN, description=LOCATION_DESCRIPTION)
]
Location = Annotated[str, Field(pattern=LOCATION_PATTERN, description=LOCATION_DESCRIPTION)]
OfficeDay = Annotated[IsoDate | None, Query(ge=EARLIEST, le=LATEST)]
EntryIdPath = Annotated[int, Path(ge=1, le=2**62, description="The ledger entry's id.")]


class StockPublic(BaseModel):
    location: str
    on_hand: int = Field(description="Blanks physically at the location.")
    reserved: int = Field(description="Blanks set aside for recorded residents' print jobs.")
    available: int = Field(description="On hand less reserved: what new jobs can take.")
    low_threshold: int = Field(description="`stock_low` is published when available falls below.")
    as_of: date | None = Field(description="The close of this office day; null: now.")


class LedgerEntryPublic(BaseModel):
    id: int
    kind: EntryKind
    quantity: int = Field(description="Positive; signed for ADJUSTED (the count's difference).")
    location: str
    reverses_id: int | None = Field(description="The entry this one undoes.")
    reversed_by_id: int | None = Field(description="The entry that undid this one, if any.")
    reference: str | None = Field(
        description="Allocation letter (RECEIVED), transfer (TRANSFER_*), counter (ADJUSTED)."
    )
    serial_from: str | None
    serial_to: str | None
    job_id: str | None
    request_id: str | None
    actor: str
    note: str | None
    recorded_at: datetime

    @classmethod
    def of(cls, row: LedgerEntry, reversed_by: dict[int, int] | None = None) -> LedgerEntryPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            kind=row.kind,
            quantity=row.quantity,
            location=row.location,
            reverses_id=row.reverses_id,
            reversed_by_id=(reversed_by or {}).get(row.id),
            reference=row.reference,
            serial_from=row.serial_from,
            serial_to=row.serial_to,
            job_id=row.job_id,
            request_id=row.request_id,
            actor=row.actor,
            note=row.note,
            recorded_at=row.recorded_at,
        )


def stock_view(item: stock.LocationStock, as_of: date | None) -> StockPublic:
    return StockPublic(
        location=item.location,
        on_hand=item.on_hand,
        reserved=item.reserved,
        available=item.available,
        low_threshold=item.low_threshold,
        as_of=as_of,
    )


@router.get(
    "/v1/stock-levels",
    response_model=list[StockPublic],
    responses=problem_responses(403, 422),
    summary="Stock per location",
    description=(
        "Blanks on hand, reserved and available at each location, now or at the close of the "
        "office day `as_of` (the daily snapshot). A client limited to areas sees the district "
        "offices of its areas only."
    ),
)
async def read_stock(
    principal: Reader,
    session: ReadSession,
    settings: SettingsDep,
    clock: ClockDep,
    location: LocationQuery = None,
    as_of: Annotated[
        date | None,
        Query(ge=EARLIEST, le=LATEST, description="An office day (WIB), today or earlier."),
    ] = None,
) -> list[StockPublic]:
    if location is not None:
        check_location(location, settings)
        ensure_may_see(principal, area_of(location, settings), "This location")
    if as_of is not None and as_of > clock.today():
        raise invalid(field("as_of", "in_the_future", "as_of cannot be after today"))
    items = await (stock.current(session) if as_of is None else stock.at_close_of(session, as_of))
    # Every location that answers on `?location=` is in the list, with zeros while nothing
    # has moved there yet: the list and the single read never disagree.
    found = {item.location: item for item in items}
    wanted = [location] if location is not None else locations(settings)
    return [
        stock_view(found.get(name) or stock.LocationStock(name, 0, 0, DEFAULT_LOW_THRESHOLD), as_of)
        for name in wanted
        if location is not None or visible(principal, name, settings)
    ]


class LowThresholdUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    low_threshold: WholeNumber = Field(
        ge=0, le=10_000_000, description="`stock_low` is published when available falls below."
    )


@router.put(
    "/v1/stock-levels/{location}/low-threshold",
    response_model=StockPublic,
    responses=problem_responses(422),
    summary="Set a location's low-stock threshold",
    description=(
        "The level under which `stock_low.v1` is published (once per crossing; default 100). "
        "A threshold that puts the available blanks below it, where the old one did not, "
        "publishes `stock_low.v1` at once."
    ),
)
async def set_low_threshold(
    location: Annotated[str, Path(pattern=LOCATION_PATTERN, description=LOCATION_DESCRIPTION)],
    body: LowThresholdUpdate,
    principal: Operator,
    session: WriteSession,
    runtime: RuntimeDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> StockPublic:
    check_location(location, settings)
    changed = await stock.set_low_threshold(
        session, runtime.outbox, location=location, threshold=body.low_threshold, at=clock.now()
    )
    return stock_view(changed, None)


@router.get(
    "/v1/ledger",
    response_model=Page[LedgerEntryPublic],
    responses=problem_responses(403, 422),
    summary="The ledger",
    description=(
        "Entries in ledger order, filtered by location, kind, office days `from`..`to` (WIB, "
        "both included) and the request to the ministry a receipt answers. A client limited "
        "to areas sees the entries of the district offices of its areas only."
    ),
)
async def read_ledger(
    principal: Reader,
    session: ReadSession,
    settings: SettingsDep,
    location: LocationQuery = None,
    kind: EntryKind | None = None,
    first_day: Annotated[IsoDate | None, Query(alias="from", ge=EARLIEST, le=LATEST)] = None,
    last_day: Annotated[IsoDate | None, Query(alias="to", ge=EARLIEST, le=LATEST)] = None,
    request_id: Annotated[str | None, Query(max_length=32)] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[LedgerEntryPublic]:
    if first_day is not None and last_day is not None and last_day < first_day:
        raise invalid(field("to", "before_from", "to is before from"))
    locations: list[str] | None = None
    if location is not None:
        check_location(location, settings)
        ensure_may_see(principal, area_of(location, settings), "This location")
        locations = [location]
    elif principal.limited_to_areas:
        locations = [
            b.location
            for b in await stock.current(session)
            if visible(principal, b.location, settings)
        ]
    filters = queries.LedgerFilter(locations, kind, first_day, last_day, request_id)
    rows = await queries.ledger_entries(
        session, filters, limit=page_size + 1, after_id=id_cursor(page_token)
    )
    items, token = cut_page(rows, page_size, lambda row: (int(row.id or 0),))
    reversed_by = await queries.reversed_by(session, [row.id for row in items if row.id])
    return Page(items=[LedgerEntryPublic.of(r, reversed_by) for r in items], next_page_token=token)


class ReceiptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: Location = OFFICE
    quantity: WholeNumber = Field(ge=1, le=1_000_000)
    allocation_reference: str = Field(
        min_length=1, max_length=100, description="The ministry's allocation letter number."
    )
    serial_from: str = Field(pattern=SERIAL_PATTERN, max_length=30)
    serial_to: str = Field(pattern=SERIAL_PATTERN, max_length=30)
    request_id: str | None = Field(
        default=None, max_length=32, description="The request to the ministry it answers."
    )
    note: str | None = Field(default=None, max_length=300)


class ReceiptPublic(BaseModel):
    entry: LedgerEntryPublic
    waiting_jobs_served: int = Field(description="Waiting print jobs that took a blank from it.")


@router.post(
    "/v1/receipts",
    status_code=status.HTTP_201_CREATED,
    response_model=ReceiptPublic,
    responses=problem_responses(409, 422),
    summary="Receive blanks from the ministry",
    description=(
        "A RECEIVED entry with the allocation letter and the serial range (its size must be "
        "the quantity; ranges never overlap an earlier receipt's). Waiting print jobs take "
        "the new blanks in order of recording. Naming a request follows it to receipt."
    ),
)
async def receive(
    body: ReceiptCreate,
    principal: Operator,
    session: WriteSession,
    runtime: RuntimeDep,
    settings: SettingsDep,
    clock: ClockDep,
    once: Once,
) -> ReceiptPublic:
    check_location(body.location, settings)

    async def work() -> ReceiptPublic:
        if body.request_id is not None and not await requests.exists(session, body.request_id):
            raise invalid(field("request_id", "unknown_request", "no request with this id"))
        with refusals_as_conflicts():
            entry, served = await print_queue.receive_blanks(
                session,
                runtime.outbox,
                quantity=body.quantity,
                location=body.location,
                reference=body.allocation_reference,
                serial_from=body.serial_from,
                serial_to=body.serial_to,
                request_id=body.request_id,
                note=body.note,
                actor=actor(principal),
                at=clock.now(),
            )
        return ReceiptPublic(entry=LedgerEntryPublic.of(entry), waiting_jobs_served=served)

    return await once.run(body, ReceiptPublic, work)


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_location: Location
    to_location: Location
    quantity: WholeNumber = Field(ge=1, le=1_000_000)
    note: str | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _two_places(self) -> TransferCreate:
        if self.from_location == self.to_location:
            raise PydanticCustomError("same_location", "from_location and to_location must differ")
        return self


class TransferPublic(BaseModel):
    reference: str
    sent: LedgerEntryPublic
    received: LedgerEntryPublic
    waiting_jobs_served: int


@router.post(
    "/v1/transfers",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferPublic,
    responses=problem_responses(409, 422),
    summary="Move blanks between locations",
    description=(
        "A TRANSFER_OUT at the source and a TRANSFER_IN at the destination, under one "
        "reference, in one transaction. Only available blanks move (409 otherwise)."
    ),
)
async def transfer(
    body: TransferCreate,
    principal: Operator,
    session: WriteSession,
    runtime: RuntimeDep,
    settings: SettingsDep,
    clock: ClockDep,
    once: Once,
) -> TransferPublic:
    check_location(body.from_location, settings, "from_location")
    check_location(body.to_location, settings, "to_location")

    async def work() -> TransferPublic:
        with refusals_as_conflicts():
            moved = await stock.transfer(
                session,
                runtime.outbox,
                source=body.from_location,
                destination=body.to_location,
                quantity=body.quantity,
                note=body.note,
                actor=actor(principal),
                at=clock.now(),
            )
        return TransferPublic(
            reference=moved.reference,
            sent=LedgerEntryPublic.of(moved.sent),
            received=LedgerEntryPublic.of(moved.received),
            waiting_jobs_served=moved.served,
        )

    return await once.run(body, TransferPublic, work)


class ReturnCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: Location = OFFICE
    quantity: WholeNumber = Field(ge=1, le=1_000_000)
    reference: str = Field(
        min_length=1,
        max_length=100,
        description="The ministry's letter or delivery note the blanks go back under.",
    )
    note: str | None = Field(default=None, max_length=300)


class ReturnPublic(BaseModel):
    entry: LedgerEntryPublic


@router.post(
    "/v1/returns",
    status_code=status.HTTP_201_CREATED,
    response_model=ReturnPublic,
    responses=problem_responses(409, 422),
    summary="Send blanks back to the ministry",
    description=(
        "A RETURNED entry under the ministry's reference: damaged, recalled or wrong blanks "
        "leave the stock. Only available blanks can go (409 otherwise); reserved ones are "
        "promised to recorded residents."
    ),
)
async def return_blanks(
    body: ReturnCreate,
    principal: Operator,
    session: WriteSession,
    runtime: RuntimeDep,
    settings: SettingsDep,
    clock: ClockDep,
    once: Once,
) -> ReturnPublic:
    check_location(body.location, settings)

    async def work() -> ReturnPublic:
        with refusals_as_conflicts():
            entry = await stock.return_blanks(
                session,
                runtime.outbox,
                location=body.location,
                quantity=body.quantity,
                reference=body.reference,
                note=body.note,
                actor=actor(principal),
                at=clock.now(),
            )
        return ReturnPublic(entry=LedgerEntryPublic.of(entry))

    return await once.run(body, ReturnPublic, work)


class CountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: Location = OFFICE
    counted: WholeNumber = Field(ge=0, le=10_000_000, description="Blanks counted on the shelf.")
    counter: str = Field(min_length=1, max_length=100, description="Who counted.")
    note: str | None = Field(default=None, max_length=300)


class CountPublic(BaseModel):
    location: str
    counted: int
    on_hand_before: int
    difference: int
    entry: LedgerEntryPublic = Field(
        description="The ADJUSTED entry (quantity = difference; 0 when the count agreed)."
    )
    waiting_jobs_served: int


@router.post(
    "/v1/counts",
    status_code=status.HTTP_201_CREATED,
    response_model=CountPublic,
    responses=problem_responses(409, 422),
    summary="Record a physical count",
    description=(
        "The difference between the counted blanks and the stock on hand becomes an ADJUSTED "
        "entry in the counter's name. Fewer blanks than are reserved is refused (409): "
        "release the jobs first."
    ),
)
async def record_count(
    body: CountCreate,
    principal: Operator,
    session: WriteSession,
    runtime: RuntimeDep,
    settings: SettingsDep,
    clock: ClockDep,
    once: Once,
) -> CountPublic:
    check_location(body.location, settings)

    async def work() -> CountPublic:
        with refusals_as_conflicts():
            counted = await stock.count(
                session,
                runtime.outbox,
                location=body.location,
                counted=body.counted,
                counter=body.counter,
                note=body.note,
                actor=actor(principal),
                at=clock.now(),
            )
        return CountPublic(
            location=counted.location,
            counted=counted.counted,
            on_hand_before=counted.on_hand_before,
            difference=counted.difference,
            entry=LedgerEntryPublic.of(counted.entry),
            waiting_jobs_served=counted.served,
        )

    return await once.run(body, CountPublic, work)


class ReversalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=300, description="Why the entry was wrong.")


class ReversalPublic(BaseModel):
    reversed_entry_id: int
    entries: list[LedgerEntryPublic] = Field(
        description="The reversing entries: both ends of a transfer, one entry otherwise."
    )
    waiting_jobs_served: int


@router.post(
    "/v1/ledger/{entry_id}:reverse",
    status_code=status.HTTP_201_CREATED,
    response_model=ReversalPublic,
    responses=problem_responses(404, 409, 422),
    summary="Reverse a mistaken entry",
    description=(
        "Appends the entry that undoes it, pointing at it (entries are never edited). An entry "
        "is reversed once; a transfer is reversed at both ends; a reversed receipt frees its "
        "serials. Entries of print jobs (reserved, released, consumed, spoiled) are corrected "
        "through the print queue instead (409), as is anything the stock no longer allows."
    ),
)
async def reverse_entry(
    entry_id: EntryIdPath,
    body: ReversalCreate,
    principal: Operator,
    session: WriteSession,
    runtime: RuntimeDep,
    clock: ClockDep,
    once: Once,
) -> ReversalPublic:
    async def work() -> ReversalPublic:
        with refusals_as_conflicts():
            done = await stock.reverse(
                session,
                runtime.outbox,
                entry_id=entry_id,
                note=body.note,
                actor=actor(principal),
                at=clock.now(),
            )
        return ReversalPublic(
            reversed_entry_id=entry_id,
            entries=[LedgerEntryPublic.of(entry) for entry in done.entries],
            waiting_jobs_served=done.served,
        )

    return await once.run(body, ReversalPublic, work)
