"""The residents database, in the SQLModel family: `ResidentBase`, `Resident`, `ResidentCreate`,
`ResidentPublic`; plus the status history and import jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError
from sqlmodel import Field, SQLModel

from jemput.residents.domain import validation as rules
from jemput.residents.domain.model import DomicileStatus, EktpStatus, MaritalStatus
from jemput.shared.db.types import StrEnumType, UtcDateTime
from jemput.shared.nik import NIK_PATTERN, Nik, Sex
from jemput.shared.reference.areas import AreaCode


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(**options: Any) -> Any:
    return Field(sa_type=UtcDateTime(), **options)


class ResidentBase(SQLModel):
    nik: str = Field(
        primary_key=True, min_length=16, max_length=16, schema_extra={"pattern": NIK_PATTERN}
    )
    kk: str = Field(min_length=16, max_length=16, regex=r"^[0-9]{16}$", index=True)
    full_name: str = Field(min_length=1, max_length=200)
    birth_place: str | None = Field(default=None, max_length=100)
    birth_date: date
    # The birth date was corrected after the NIK was issued: it may then differ from the NIK.
    birth_date_corrected: bool = False
    # Enums are stored as plain strings (the migrations' VARCHARs), not native PostgreSQL enums.
    sex: Sex = Field(sa_type=StrEnumType(Sex, 1))
    marital_status: MaritalStatus = Field(
        default=MaritalStatus.BELUM_KAWIN, sa_type=StrEnumType(MaritalStatus, 16)
    )
    village_code: str = Field(max_length=13)
    rt: str | None = Field(default=None, max_length=3, regex=r"^[0-9]{1,3}$")
    rw: str | None = Field(default=None, max_length=3, regex=r"^[0-9]{1,3}$")
    disabled: bool = False
    chronically_ill: bool = False
    mental_illness: bool = False


class Resident(ResidentBase, table=True):
    __tablename__ = "resident"

    district_code: str = Field(max_length=8)
    domicile_status: DomicileStatus = Field(
        default=DomicileStatus.RESIDENT, sa_type=StrEnumType(DomicileStatus, 16)
    )
    # The status as of `status_changed_at`; reads recompute BELUM_WAJIB → BELUM_REKAM by date.
    ektp_status: EktpStatus = Field(
        default=EktpStatus.BELUM_REKAM, sa_type=StrEnumType(EktpStatus, 24)
    )
    suket_outstanding: bool = False
    recorded_at: datetime | None = _utc(default=None)
    duplicate_at: datetime | None = _utc(default=None)
    print_ready_at: datetime | None = _utc(default=None)
    printed_at: datetime | None = _utc(default=None)
    issued_at: datetime | None = _utc(default=None)
    status_changed_at: datetime = _utc(default_factory=_now)
    # Digest of the register fields: a re-import skips rows whose digest has not changed.
    record_digest: str = Field(default="", max_length=32)
    created_at: datetime = _utc(default_factory=_now)
    updated_at: datetime = _utc(default_factory=_now)


def _rule(check: Callable[[str, str], Any], name: str) -> BeforeValidator:
    """A field checked by the register's own rule (domain/validation), so the API refuses what
    the import refuses with the same code; non-text is left to the type's own error."""

    def validate(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return check(value, name)
        except rules.FieldInvalid as invalid:
            raise PydanticCustomError(invalid.code, invalid.reason) from None

    return BeforeValidator(validate)


def _coded(code: str, reason: str) -> WrapValidator:
    """The type's own check, answered with the code the import gives for the same mistake."""

    def validate(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(code, reason) from None

    return WrapValidator(validate)


_FLAG = _coded(rules.INVALID_FLAG, "must be true or false")


class ResidentCreate(ResidentBase):
    # Validation errors must not echo the input back: it is personal data.
    model_config = ConfigDict(hide_input_in_errors=True)  # type: ignore[assignment]

    nik: Nik
    kk: Annotated[str, _rule(rules.kk, "kk")] = Field(
        min_length=16, max_length=16, schema_extra={"pattern": r"^[0-9]{16}$"}
    )
    # The schema says what the rule refuses: a name of only spaces is none.
    full_name: Annotated[str, _rule(rules.full_name, "full_name")] = Field(
        min_length=1, max_length=rules.FULL_NAME_MAX, schema_extra={"pattern": r"\S"}
    )
    birth_place: Annotated[str | None, _rule(rules.birth_place, "birth_place")] = Field(
        default=None, max_length=rules.BIRTH_PLACE_MAX
    )
    birth_date: Annotated[
        date, _coded(rules.INVALID_DATE, "birth_date must be a real date, YYYY-MM-DD")
    ]
    birth_date_corrected: Annotated[bool, _FLAG] = False
    sex: Annotated[Sex, _coded(rules.INVALID_SEX, "sex must be L or P")]
    marital_status: Annotated[
        MaritalStatus,
        _coded(
            rules.INVALID_MARITAL_STATUS,
            "marital_status must be BELUM_KAWIN, KAWIN, CERAI_HIDUP or CERAI_MATI",
        ),
    ] = MaritalStatus.BELUM_KAWIN
    village_code: Annotated[
        AreaCode,
        _coded(rules.UNKNOWN_VILLAGE, "village_code is not a village in the Kemendagri table"),
    ]
    rt: Annotated[str | None, _rule(rules.rt, "rt")] = Field(
        default=None, max_length=3, schema_extra={"pattern": r"^[0-9]{1,3}$"}
    )
    rw: Annotated[str | None, _rule(rules.rw, "rw")] = Field(
        default=None, max_length=3, schema_extra={"pattern": r"^[0-9]{1,3}$"}
    )
    disabled: Annotated[bool, _FLAG] = False
    chronically_ill: Annotated[bool, _FLAG] = False
    mental_illness: Annotated[bool, _FLAG] = False
    ektp_status: Annotated[
        EktpStatus, _coded(rules.INVALID_STATUS, "ektp_status is not an e-KTP status")
    ] = EktpStatus.BELUM_REKAM


class ResidentPublic(ResidentBase):
    district_code: str
    domicile_status: DomicileStatus
    ektp_status: EktpStatus
    suket_outstanding: bool
    status_changed_at: datetime
    elderly: bool
    eligible: bool
    eligible_from: date | None
    created_at: datetime
    updated_at: datetime


class StatusChange(SQLModel, table=True):
    """One transition of a resident's e-KTP status: when, why and by whom."""

    __tablename__ = "resident_status_change"

    id: int | None = Field(default=None, primary_key=True)
    nik: str = Field(max_length=16, index=True)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str = Field(max_length=24)
    changed_at: datetime = _utc()
    # e.g. "event", "central_result", "import", "registration"; the id is the event or request.
    cause: str = Field(max_length=40)
    cause_id: str | None = Field(default=None, max_length=64)
    actor: str = Field(max_length=100)


class StatusChangePublic(SQLModel):
    from_status: str | None
    to_status: str
    changed_at: datetime
    cause: str
    cause_id: str | None
    actor: str


class ImportJob(SQLModel, table=True):
    __tablename__ = "import_job"

    id: str = Field(primary_key=True, max_length=36)
    state: str = Field(max_length=16)  # queued, running, succeeded, failed
    file_name: str = Field(max_length=255)
    file_format: str = Field(max_length=8)
    total_rows: int | None = None
    processed_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    error_summary: str | None = Field(default=None, max_length=500)
    started_at: datetime = _utc(default_factory=_now)
    finished_at: datetime | None = _utc(default=None)


class ImportRowError(SQLModel, table=True):
    __tablename__ = "import_error"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=36, index=True)
    line: int
    field: str = Field(max_length=40)
    code: str = Field(max_length=60)
    reason: str = Field(max_length=300)


ImportState = Literal["queued", "running", "succeeded", "failed"]
ImportFormat = Literal["csv", "ndjson"]


class ImportErrorPublic(SQLModel):
    """A row the import rejected."""

    line: int = Field(description="The line of the file (1 is a CSV file's header).")
    field: str = Field(description="The register's column, or `(row)` for the whole line.")
    code: str = Field(description="A machine-readable code, e.g. `nik_length`.")
    reason: str


class ImportJobPublic(SQLModel):
    id: str
    state: ImportState = Field(
        description="`queued`, then `running`, then `succeeded` (rows may still be rejected: "
        "see `rejected` and the job's errors) or `failed` (see `error_summary`)."
    )
    file_name: str
    file_format: ImportFormat
    total_rows: int | None
    processed_rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    error_summary: str | None
    started_at: datetime
    finished_at: datetime | None
