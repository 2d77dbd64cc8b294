"""What routes share: the clock, the settings, locations, paging, problem documentation,
refusals as 409s and `Idempotency-Key` (`Once`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request, Response, status
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.entrypoints.http.access import Operator
from jemput.inventory.service_layer import idempotency
from jemput.inventory.service_layer.ledger import StockRefused
from jemput.inventory.service_layer.print_queue import JobNotFound, PrintRefused
from jemput.inventory.service_layer.problems import field, invalid, not_found, refused
from jemput.inventory.settings import InventorySettings
from jemput.shared.http.clock import Clock as Clock
from jemput.shared.http.clock import ClockDep as ClockDep
from jemput.shared.http.clock import get_clock as get_clock
from jemput.shared.http.openapi import problem_responses as problem_responses
from jemput.shared.http.pagination import decode_page_token
from jemput.shared.http.service_app import WriteSession
from jemput.shared.http.types import EARLIEST as EARLIEST
from jemput.shared.http.types import LATEST as LATEST
from jemput.shared.reference.areas import AreaLevel, load_area_table
from jemput.shared.security import Principal

M = TypeVar("M", bound=BaseModel)

OFFICE = "office"
LOCATION_PATTERN = r"^(office|[0-9]{2}\.[0-9]{2}\.[0-9]{2})$"
LOCATION_DESCRIPTION = (
    "`office` (the regency office, where cards are printed) or a district office by its "
    "Kemendagri district code, e.g. `16.02.05`."
)


def get_settings(request: Request) -> InventorySettings:
    settings: InventorySettings = request.app.state.settings
    return settings


SettingsDep = Annotated[InventorySettings, Depends(get_settings)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        description="Send the same key to resend a write safely: the first answer is replayed.",
    ),
]


def check_location(location: str, settings: InventorySettings, name: str = "location") -> str:
    """`office`, or a district of the regency in the Kemendagri table (422 otherwise)."""
    if location == OFFICE:
        return location
    area = load_area_table().get(location)
    if (
        area is None
        or area.level is not AreaLevel.DISTRICT
        or not location.startswith(settings.regency_code + ".")
    ):
        raise invalid(
            field(name, "unknown_location", f"{name} is not `office` or a district of the regency")
        )
    return location


def locations(settings: InventorySettings) -> list[str]:
    """Every location `check_location` accepts: the office, then the regency's districts."""
    districts = load_area_table().districts_of(settings.regency_code)
    return [OFFICE, *sorted(area.code for area in districts)]


def area_of(location: str, settings: InventorySettings) -> str:
    """The area a location answers for: the office the whole regency, a district office its
    district."""
    return settings.regency_code if location == OFFICE else location


def visible(principal: Principal, location: str, settings: InventorySettings) -> bool:
    return principal.may_see(area_of(location, settings))


@contextmanager
def refusals_as_conflicts() -> Iterator[None]:
    """The ledger's and the print queue's refusals as 409 problems (404 for a missing job);
    the request's transaction is rolled back with them, so nothing is half-written."""
    try:
        yield
    except JobNotFound:
        raise not_found("print job") from None
    except StockRefused as exc:
        raise refused(str(exc), "stock-refused") from None
    except PrintRefused as exc:
        raise refused(str(exc), "print-refused") from None


@dataclass(frozen=True, slots=True)
class OnceOnly:
    """A write route's `Idempotency-Key`: `run` does the work once per key; a resend gets the
    first answer's body with 200 (nothing is created by it) and the header
    `Idempotent-Replayed: true`; the same key with another request is a 409."""

    session: AsyncSession
    request: Request
    response: Response
    principal: Principal
    key: str | None

    async def run(
        self,
        body: BaseModel | None,
        model: type[M],
        work: Callable[[], Awaitable[M]],
        *,
        status_code: int = 201,
    ) -> M:
        if self.key is None:
            return await work()
        request_digest = idempotency.digest(
            self.request.method,
            self.request.url.path,
            body.model_dump_json() if body is not None else "",
        )
        client_id = self.principal.client_id
        earlier = await idempotency.claim(
            self.session, client_id=client_id, key=self.key, request_digest=request_digest
        )
        if earlier is not None:
            self.response.status_code = status.HTTP_200_OK
            self.response.headers["Idempotent-Replayed"] = "true"
            return model.model_validate_json(earlier.response_body)
        result = await work()
        await idempotency.answer(
            self.session,
            client_id=client_id,
            key=self.key,
            status_code=self.response.status_code or status_code,
            body=result.model_dump_json(),
        )
        return result


def once_only(
    request: Request,
    response: Response,
    session: WriteSession,
    principal: Operator,
    idempotency_key: IdempotencyKey = None,
) -> OnceOnly:
    # The same session and principal the route gets: FastAPI hands one instance per request.
    return OnceOnly(session, request, response, principal, idempotency_key)


Once = Annotated[OnceOnly, Depends(once_only, scope="function")]


def text_cursor(page_token: str | None) -> tuple[str, str] | None:
    """A (text, id) cursor."""
    if page_token is None:
        return None
    first, second = decode_page_token(page_token, arity=2)
    if not isinstance(first, str) or not isinstance(second, str):
        raise bad_token()
    return first, second


def moment_cursor(page_token: str | None) -> tuple[datetime, str] | None:
    """A (timestamp, id) cursor."""
    found = text_cursor(page_token)
    if found is None:
        return None
    try:
        moment = datetime.fromisoformat(found[0])
    except ValueError:
        raise bad_token() from None
    if moment.tzinfo is None:
        raise bad_token()
    return moment, found[1]


def id_cursor(page_token: str | None) -> int | None:
    if page_token is None:
        return None
    (last,) = decode_page_token(page_token)
    if not isinstance(last, int):
        raise bad_token()
    return last


def bad_token() -> Exception:
    return invalid(
        field("page_token", "invalid_page_token", "page_token is not a token this list returned")
    )
