from __future__ import annotations

import pytest

from jemput.shared.security import Principal, Scope, area_contains


def principal(scopes: str = "residents:read", areas: tuple[str, ...] | None = None) -> Principal:
    return Principal("kecamatan-kayuagung", frozenset(scopes.split()), areas, "jwt")


@pytest.mark.parametrize(
    ("outer", "inner", "inside"),
    [
        ("16.02.05", "16.02.05", True),
        ("16.02.05", "16.02.05.1001", True),
        ("16.02", "16.02.05.1001", True),
        ("16", "16.02", True),
        ("16.02.05", "16.02", False),  # the regency is larger than the district
        ("16.02.05", "16.02.06.1001", False),
        ("16.02.05", "16.02.051", False),  # a prefix of digits is not a parent area
        ("16.02", "16.020", False),
    ],
)
def test_area_contains(outer: str, inner: str, inside: bool) -> None:
    assert area_contains(outer, inner) is inside


def test_district_staff_see_their_district_and_below_only() -> None:
    staff = principal(areas=("16.02.05",))
    assert staff.may_see("16.02.05")
    assert staff.may_see("16.02.05.1001")
    assert not staff.may_see("16.02")
    assert not staff.may_see("16.02.06.2001")
    assert staff.limited_to_areas


def test_regency_wide_and_unlimited_principals() -> None:
    regency = principal(areas=("16.02",))
    assert regency.may_see("16.02.13.2005") and regency.may_see("16.02")
    assert not regency.may_see("16.01.01.2001")
    everyone = principal(areas=None)
    assert everyone.may_see("11.01") and not everyone.limited_to_areas
    nothing = principal(areas=())
    assert not nothing.may_see("16.02.05.1001")


def test_admin_implies_every_scope_others_only_their_own() -> None:
    admin = principal("admin")
    assert all(admin.has(scope) for scope in Scope)
    partner = principal("residents:status")
    assert partner.has(Scope.RESIDENTS_STATUS)
    assert not partner.has(Scope.RESIDENTS_READ)


def test_principal_is_frozen() -> None:
    staff = principal()
    with pytest.raises(AttributeError):
        staff.client_id = "someone-else"  # type: ignore[misc]
