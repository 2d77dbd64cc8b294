"""Schemathesis hooks for the fuzz run (loaded by the `hooks` key of its configuration): the
errors of every service are RFC 9457 problem documents."""

from __future__ import annotations

import schemathesis
from schemathesis import Case, CheckContext, Response

PROBLEM_JSON = "application/problem+json"


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
