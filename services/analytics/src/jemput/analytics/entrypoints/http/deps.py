"""What the analytics routes share: the reader's scope, the area asked about, the settings, the
default target, and answering in CSV when asked to."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from jemput.analytics.domain.forecast import Target
from jemput.analytics.settings import AnalyticsSettings
from jemput.shared.http.openapi import problem_responses
from jemput.shared.http.problems import ProblemError
from jemput.shared.http.types import EARLIEST as EARLIEST
from jemput.shared.http.types import LATEST as LATEST
from jemput.shared.http.types import IsoDate
from jemput.shared.reference.areas import AREA_CODE_PATTERN, Area, load_area_table
from jemput.shared.security import Principal, Scope, ensure_may_see, require_scope

AnalyticsReader = Annotated[Principal, Depends(require_scope(Scope.ANALYTICS_READ))]
CSV = "text/csv"
FormatParam = Annotated[
    str | None,
    Query(
        alias="format",
        pattern="^(json|csv)$",
        description="`csv` for a CSV file (or send `Accept: text/csv`)",
    ),
]
# ISO 8601 text only: a number would otherwise be read as a Unix timestamp.
AsOfParam = Annotated[
    IsoDate | None, Query(ge=EARLIEST, le=LATEST, description="Default: today (WIB)")
]
PROBLEMS = problem_responses(403, 404, 422)
# The operations that also answer in CSV say so in their OpenAPI document.
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "JSON, or CSV"},
    **PROBLEMS,
}


def settings_of(request: Request) -> AnalyticsSettings:
    settings: AnalyticsSettings = request.app.state.settings
    return settings


def default_target(settings: AnalyticsSettings) -> Target:
    return Target(settings.coverage_target, settings.default_due())


def area_seen_by(principal: Principal, code: str) -> Area:
    """The area, if the caller may see it (403) and it exists (404)."""
    ensure_may_see(principal, code, "The area")
    found = load_area_table().get(code)
    if found is None:
        raise ProblemError(404, "Not Found", f"Area {code} is not in the Kemendagri table.")
    return found


def area_query(description: str) -> Any:
    return Query(pattern=AREA_CODE_PATTERN, description=description)


def wants_csv(request: Request, format_: str | None) -> bool:
    if format_ is not None:
        return format_ == "csv"
    accept = request.headers.get("accept", "")
    return CSV in accept and "application/json" not in accept


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    # A spreadsheet would run a cell that starts like a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return Response(
        buffer.getvalue(),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def models_csv(
    filename: str,
    model: type[BaseModel],
    items: Iterable[BaseModel],
    *,
    first_columns: dict[str, Any] | None = None,
) -> Response:
    """One row per item, its fields as columns (lists joined with `;`), after `first_columns`
    (the same values on every row, e.g. the day asked about)."""
    leading = first_columns or {}
    fields = [name for name, info in model.model_fields.items() if not _nested(info.annotation)]

    def row(item: BaseModel) -> list[Any]:
        values = [getattr(item, name) for name in fields]
        return [
            *leading.values(),
            *(";".join(map(str, v)) if isinstance(v, list | tuple) else v for v in values),
        ]

    return csv_response(filename, [*leading, *fields], (row(item) for item in items))


def _nested(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
