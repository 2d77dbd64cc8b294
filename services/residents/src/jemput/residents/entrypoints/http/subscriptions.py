"""`/v1/subscriptions`: partner systems (health insurance, banks, the election commission) ask
to be told of e-KTP status changes of the residents they watch, as signed webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, Header, Path, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from jemput.residents.adapters.webhook_tables import PartnerSubscription, WebhookDelivery
from jemput.residents.domain.webhooks import MAX_AREAS, MAX_NIKS, DeliveryState
from jemput.residents.entrypoints.http.residents import problem_responses
from jemput.residents.service_layer import subscriptions
from jemput.residents.service_layer.webhook_targets import system_resolver
from jemput.residents.settings import allows_local_webhooks
from jemput.shared.http.pagination import (
    DEFAULT_PAGE_SIZE,
    Page,
    PageSize,
    PageToken,
    cut_page,
    decode_page_token,
)
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.nik import NIK_PATTERN, NikText
from jemput.shared.reference.areas import AreaCode
from jemput.shared.security import Principal, Scope, ensure_may_see, require_scope

# A partner watching status changes; its subscriptions are its own (by client id).
Subscriber = Annotated[Principal, Depends(require_scope(Scope.RESIDENTS_SUBSCRIBE))]

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


def subscriber_client_id(principal: Subscriber) -> str:
    return principal.client_id


ClientId = Annotated[str, Depends(subscriber_client_id)]
SubscriptionPath = Annotated[str, Path(max_length=36, description="The subscription's id")]
DeliveryPath = Annotated[str, Path(max_length=36, description="The delivery's id")]
NikItem = Annotated[str, Field(pattern=NIK_PATTERN)]


class SubscriptionIn(BaseModel):
    # Validation errors must not echo the input back: NIKs are personal data.
    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid")

    url: str = Field(
        min_length=8,
        max_length=2048,
        description="Where deliveries are POSTed: https to a public address (http to "
        "127.0.0.1 or localhost, and internal addresses, only in development and test).",
    )
    niks: list[NikItem] = Field(
        default_factory=list, max_length=MAX_NIKS, description="Residents watched by NIK."
    )
    areas: list[AreaCode] = Field(
        default_factory=list,
        max_length=MAX_AREAS,
        description="Kemendagri codes (regency, district or village): everyone living there.",
    )

    @model_validator(mode="after")
    def _watches_something(self) -> Self:
        if not self.niks and not self.areas:
            raise PydanticCustomError("nothing_watched", "give niks, areas or both")
        return self


def check_watch_within_areas(principal: Principal, body: SubscriptionIn) -> None:
    """A client limited to areas (district staff, a regional partner) may watch only residents
    it may see: areas inside its own, and no NIK lists (where a listed resident lives is not
    known at subscription time, and residents move). Without this a district client could
    watch the whole regency."""
    if not principal.limited_to_areas:
        return
    for area in body.areas:
        ensure_may_see(principal, area, "A watched area")
    if body.niks:
        raise ProblemError(
            403,
            "Forbidden",
            "This client is limited to some areas: it may watch areas inside them, not NIKs.",
        )


class SubscriptionOut(BaseModel):
    id: str
    url: str
    niks: list[NikText]
    areas: list[str]
    active: bool
    created_at: datetime
    deactivated_at: datetime | None

    @classmethod
    def of(cls, row: PartnerSubscription) -> SubscriptionOut:
        return cls.model_validate(row, from_attributes=True)


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(
        description="Signs every delivery (see `X-Jemput-Signature`). Shown only in this "
        "answer (and in the replay of the same Idempotency-Key): keep it."
    )


class DeliveryOut(BaseModel):
    id: str = Field(description="Stable across retries: the `X-Jemput-Delivery` header.")
    event_id: str
    state: DeliveryState
    attempts: int
    last_error: str | None = Field(description="HTTP status or error class of the last failure.")
    next_attempt_at: AwareDatetime | None = Field(description="Null unless pending.")
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any] = Field(description="The JSON body that is POSTed.")

    @classmethod
    def of(cls, row: WebhookDelivery) -> DeliveryOut:
        return cls.model_validate(row, from_attributes=True)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionCreated,
    responses=problem_responses(403, 409, 422),
    summary="Subscribe to e-KTP status changes",
    description=(
        "Each status change of a watched resident (NIK listed, or living in one of the areas) "
        "is POSTed to `url` as JSON `{event_id, nik, ektp_status, previous_status, "
        "suket_outstanding, changed_at}`, and each change of the SUKET flag alone as "
        "`{event_id, type: suket_status_changed, nik, ektp_status, suket_outstanding, "
        "changed_at}`, signed with the returned `secret` (HMAC-SHA256, see "
        "the README), and retried with backoff until the partner answers 2xx. Send an "
        "`Idempotency-Key` to resend safely: the same key and body answer the same "
        "subscription, a different body 409."
    ),
)
async def create_subscription(
    body: SubscriptionIn,
    runtime: RuntimeDep,
    principal: Subscriber,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> SubscriptionCreated:
    check_watch_within_areas(principal, body)
    client_id = principal.client_id
    local = allows_local_webhooks(runtime.settings)
    problem = subscriptions.url_problem(body.url, allow_local_http=local)
    if problem is None:
        problem = await subscriptions.address_problem(
            body.url, resolver=system_resolver, allow_internal=local
        )
    if problem is not None:
        raise ProblemError(
            422,
            "Invalid request",
            "One or more fields are invalid; see `errors`.",
            errors=[problem],
        )
    created = await subscriptions.create(
        runtime.sessions,
        client_id=client_id,
        spec=subscriptions.SubscriptionSpec.of(body.url, body.niks, body.areas),
        idempotency_key=idempotency_key,
    )
    if created.replayed:  # nothing was created by this request: 200, as every replay
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    row = created.subscription
    return SubscriptionCreated(**SubscriptionOut.of(row).model_dump(), secret=row.secret)


@router.get(
    "",
    response_model=Page[SubscriptionOut],
    summary="The caller's subscriptions",
    description="In creation order, active and deactivated; the secrets are never shown.",
)
async def list_subscriptions(
    session: ReadSession,
    client_id: ClientId,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
    page_token: PageToken = None,
) -> Page[SubscriptionOut]:
    after: tuple[int, str] | None = None
    if page_token is not None:
        created_us, last_id = decode_page_token(page_token, arity=2)
        if not isinstance(created_us, int) or not isinstance(last_id, str):
            raise _not_a_token_of_this_list()
        after = (created_us, last_id)
    rows = await subscriptions.list_owned(session, client_id, after=after, limit=page_size + 1)
    items, token = cut_page(rows, page_size, subscriptions.subscription_sort_key)
    return Page(items=[SubscriptionOut.of(r) for r in items], next_page_token=token)


def _not_a_token_of_this_list() -> ProblemError:
    return ProblemError(
        422,
        "Invalid request",
        "page_token is not a token of this list.",
        errors=[
            FieldProblem(
                field="page_token",
                code="invalid_page_token",
                reason="page_token is not a token this list returned",
            )
        ],
    )


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    responses=problem_responses(404),
    summary="One of the caller's subscriptions",
)
async def read_subscription(
    subscription_id: SubscriptionPath, session: ReadSession, client_id: ClientId
) -> SubscriptionOut:
    return SubscriptionOut.of(await subscriptions.owned(session, client_id, subscription_id))


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
    summary="Deactivate a subscription",
    description="No more deliveries; pending ones are cancelled. Deactivating twice is fine.",
)
async def deactivate_subscription(
    subscription_id: SubscriptionPath, session: WriteSession, client_id: ClientId
) -> Response:
    subscription = await subscriptions.owned(session, client_id, subscription_id)
    await subscriptions.deactivate(session, subscription)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=Page[DeliveryOut],
    responses=problem_responses(404),
    summary="The subscription's deliveries, newest first",
)
async def list_deliveries(
    subscription_id: SubscriptionPath,
    session: ReadSession,
    client_id: ClientId,
    state: DeliveryState | None = None,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
    page_token: PageToken = None,
) -> Page[DeliveryOut]:
    subscription = await subscriptions.owned(session, client_id, subscription_id)
    before: int | None = None
    if page_token is not None:
        (seq,) = decode_page_token(page_token)
        if not isinstance(seq, int):
            raise _not_a_token_of_this_list()
        before = seq
    rows = await subscriptions.list_deliveries(
        session, subscription.id, state=state, before_seq=before, limit=page_size + 1
    )
    items, token = cut_page(rows, page_size, lambda row: (row.seq or 0,))
    return Page(items=[DeliveryOut.of(r) for r in items], next_page_token=token)


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses=problem_responses(404, 409),
    summary="Send a parked (or delivered) delivery again",
    description=(
        "Re-arms the delivery with a fresh set of attempts; it keeps its id, so the receiver "
        "can recognise it. It goes out before the subscription's later pending deliveries."
    ),
)
async def retry_delivery(
    subscription_id: SubscriptionPath,
    delivery_id: DeliveryPath,
    session: WriteSession,
    client_id: ClientId,
) -> DeliveryOut:
    subscription = await subscriptions.owned(session, client_id, subscription_id)
    return DeliveryOut.of(await subscriptions.rearm(session, subscription, delivery_id))
