"""Schemathesis hooks for the fuzz run (loaded by the `hooks` key of its configuration): the
errors of every service are RFC 9457 problem documents, and a request the document calls valid
is refused with 422 only by a rule of the domain that no schema can state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import get_args

import schemathesis
from hypothesis import strategies as st
from pydantic_core.core_schema import ErrorType
from schemathesis import Case, CheckContext, Response
from schemathesis.specs.openapi.checks import is_unexpected_http_status_case

PROBLEM_JSON = "application/problem+json"
# Pydantic's own error types: a constraint of the request's schema. A valid request refused
# with one of them means the document does not say what the service checks.
SCHEMA_ERROR_TYPES = frozenset(get_args(ErrorType))

# Dates and times of the years the services take (`jemput.shared.http.types`): the documents
# bound them by a pattern on the year, which a value drawn from all of 0001-9999 rarely meets.
_DAYS = st.dates(date(1900, 1, 1), date(2199, 12, 31))
_OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3))])
schemathesis.openapi.format("date", _DAYS.map(date.isoformat))
schemathesis.openapi.format(
    "date-time",
    st.builds(
        lambda moment, zone: moment.replace(tzinfo=zone).isoformat(),
        st.datetimes(datetime(1900, 1, 2), datetime(2199, 12, 30)),
        _OFFSETS,
    ),
)


@schemathesis.check
def errors_are_problem_documents(ctx: CheckContext, response: Response, case: Case) -> bool:
    """Every 4xx and 5xx answer is `application/problem+json` whose `status` is the answer's
    and whose `title` says what went wrong."""
    if response.status_code < 400:
        return True
    content_type = (response.headers.get("content-type") or [""])[0]
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != PROBLEM_JSON:
        raise AssertionError(f"{response.status_code} sent as {content_type!r}, not {PROBLEM_JSON}")
    body = response.json()
    if not isinstance(body, dict) or body.get("status") != response.status_code:
        raise AssertionError(f"the problem's `status` is not {response.status_code}")
    if not isinstance(body.get("title"), str) or not body["title"]:
        raise AssertionError("the problem has no `title`")
    return True


@schemathesis.check
def valid_data_is_refused_only_by_rules_of_the_domain(
    ctx: CheckContext, response: Response, case: Case
) -> bool:
    """A request the document calls valid may be refused with 422 only by rules JSON Schema
    cannot state, each a field problem with the service's own code: a code that must be in the
    Kemendagri table or name a stored record (`unknown_village`, `unknown_team`), the district
    and birth date inside a NIK (`nik_unknown_region`), a day relative to today (`day_in_past`),
    one field against another (`empty_range`), a page token the list did not make
    (`invalid_page_token`). A problem without field problems, or with a code of pydantic's own
    (`int_type`, `greater_than_equal`, `value_error`), is a promise of the document broken:
    `positive_data_acceptance` with 422 taken out of its failures."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return True
    if is_unexpected_http_status_case(case):
        return True  # a probe of the request's shape, not data the document calls valid
    errors = response.json().get("errors") or []
    schema_codes = sorted({str(e.get("code")) for e in errors} & SCHEMA_ERROR_TYPES)
    if not errors:
        raise AssertionError("valid data refused with 422 without saying which field and rule")
    if schema_codes:
        raise AssertionError(
            f"valid data refused by schema constraints the document does not state: {schema_codes}"
        )
    return True
