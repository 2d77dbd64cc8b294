"""Tests of the Kemendagri area table."""

import pytest
from pydantic import BaseModel, ValidationError

from jemput.shared.reference.areas import (
    NATION_CODE,
    Area,
    AreaCode,
    AreaLevel,
    AreaTable,
    UnknownAreaError,
    level_of,
    load_area_table,
    parent_code,
    require_known_area,
)

OKI = "16.02"
LEMPUING = "16.02.13"


def test_level_of_counts_dots():
    assert level_of("16") is AreaLevel.PROVINCE
    assert level_of("16.02") is AreaLevel.REGENCY
    assert level_of("16.02.05") is AreaLevel.DISTRICT
    assert level_of("16.02.05.2001") is AreaLevel.VILLAGE


@pytest.mark.parametrize(
    "malformed",
    ["", "1", "160", "16.2", "16.02.5", "16.02.05.201", "16.02.05.2001.1", "16.02.", "ab", "16 02"],
)
def test_level_of_rejects_malformed_codes(malformed):
    with pytest.raises(ValueError, match="malformed"):
        level_of(malformed)


def test_level_of_rejects_non_ascii_digits():
    # "١٦" is 16 in Arabic-Indic digits, which a plain \d regex would accept.
    with pytest.raises(ValueError):
        level_of("\u0661\u0666")


def test_parent_code():
    assert parent_code("16") is None
    assert parent_code("16.02") == "16"
    assert parent_code("16.02.05") == "16.02"
    assert parent_code("16.02.05.2001") == "16.02.05"
    with pytest.raises(ValueError):
        parent_code("16.2")


def test_oki_has_18_districts_and_327_villages():
    areas = load_area_table()
    districts = areas.districts_of(OKI)
    villages = areas.villages_of(OKI)
    assert len(districts) == 18
    assert len(villages) == 327
    assert all(area.level is AreaLevel.DISTRICT for area in districts)
    assert all(area.code.startswith(OKI + ".") for area in villages)
    assert [area.code for area in villages] == sorted(area.code for area in villages)


def test_lempuing_is_district_16_02_13():
    lempuing = load_area_table().get(LEMPUING)
    assert lempuing is not None
    assert "Lempuing" in lempuing.name
    assert lempuing.level is AreaLevel.DISTRICT
    assert lempuing.parent_code == OKI
    assert lempuing.province_code == "16"


def test_get_regency_and_province():
    areas = load_area_table()
    oki = areas.get(OKI)
    assert oki == Area(OKI, "Kabupaten Ogan Komering Ilir", AreaLevel.REGENCY)
    assert areas.parent(OKI) == areas.get("16")
    assert areas.parent("16") is None


def test_children_are_direct_and_sorted():
    areas = load_area_table()
    children = areas.children(OKI)
    codes = [area.code for area in children]
    assert codes == sorted(codes)
    assert len(children) == 18
    assert all(area.parent_code == OKI for area in children)
    assert areas.children("16.02.13.2005") == []


def test_children_returns_a_copy():
    areas = load_area_table()
    areas.children(OKI).clear()
    assert len(areas.children(OKI)) == 18


def test_descendants_of_a_province():
    areas = load_area_table()
    regencies = areas.descendants("16", AreaLevel.REGENCY)
    assert [area.code for area in regencies] == [area.code for area in areas.children("16")]
    assert OKI in {area.code for area in regencies}
    villages = areas.villages_of("16")
    assert len(villages) > 327
    assert [area.code for area in villages] == sorted(area.code for area in villages)


def test_descendants_needs_a_deeper_level():
    areas = load_area_table()
    with pytest.raises(ValueError):
        areas.descendants(OKI, AreaLevel.REGENCY)
    with pytest.raises(ValueError):
        areas.descendants(OKI, AreaLevel.PROVINCE)


def test_children_of_unknown_code_raises():
    with pytest.raises(UnknownAreaError):
        load_area_table().children("16.99")
    with pytest.raises(UnknownAreaError):
        load_area_table().villages_of("99")


def test_unknown_code_is_none_and_not_contained():
    areas = load_area_table()
    assert areas.get("99") is None
    assert areas.get("16.02.01") is None
    assert areas.get("not a code") is None
    assert "99" not in areas
    assert OKI in areas
    assert LEMPUING in areas


def test_table_size_and_provinces():
    areas = load_area_table()
    assert len(areas) == 91_599
    provinces = areas.provinces()
    assert len(provinces) == 38
    assert provinces[0].code == "11"


def test_names_are_stripped():
    jakarta_utara = load_area_table().get("31.72")
    assert jakarta_utara is not None
    assert jakarta_utara.name == jakarta_utara.name.strip()


def test_population_of_oki():
    population = load_area_table().population(OKI)
    assert population is not None
    assert population.total == 801_059
    assert population.male + population.female == population.total


def test_population_of_nation_is_sum_of_provinces():
    areas = load_area_table()
    nation = areas.population(NATION_CODE)
    assert nation is not None
    province_totals = []
    for province in areas.provinces():
        population = areas.population(province.code)
        assert population is not None
        province_totals.append(population.total)
    assert sum(province_totals) == nation.total


def test_population_missing_for_districts_and_unknown_codes():
    areas = load_area_table()
    assert areas.population(LEMPUING) is None
    assert areas.population("99") is None


def test_load_is_cached():
    assert load_area_table() is load_area_table()


def test_require_known_area():
    assert require_known_area(LEMPUING).code == LEMPUING
    with pytest.raises(UnknownAreaError, match="not in the Kemendagri table") as caught:
        require_known_area("16.02.01")
    assert caught.value.code == "16.02.01"
    assert isinstance(caught.value, ValueError)
    with pytest.raises(UnknownAreaError, match="malformed"):
        require_known_area("16-02")


def test_require_known_area_with_explicit_table():
    small = AreaTable.from_rows([("16", "Sumatera Selatan"), ("16.02", "OKI")])
    assert require_known_area("16.02", small).name == "OKI"
    with pytest.raises(UnknownAreaError):
        require_known_area(LEMPUING, small)


def test_from_rows_rejects_orphans_duplicates_and_bad_codes():
    with pytest.raises(ValueError, match="no parent"):
        AreaTable.from_rows([("16.02", "OKI")])
    with pytest.raises(ValueError, match="duplicate"):
        AreaTable.from_rows([("16", "A"), ("16", "B")])
    with pytest.raises(ValueError, match="malformed"):
        AreaTable.from_rows([("16.2", "A")])
    with pytest.raises(ValueError, match="unknown area"):
        AreaTable.from_rows([("16", "A")], [("17", 1, 1, 2)])


class _Place(BaseModel):
    code: AreaCode


@pytest.mark.parametrize("code", ["16", "16.02", "16.02.13", "16.02.13.2005"])
def test_area_code_type_accepts_valid_format(code):
    assert _Place(code=code).code == code


def test_area_code_type_strips_whitespace():
    assert _Place(code=" 16.02 ").code == "16.02"


@pytest.mark.parametrize("code", ["", "16.2", "16.02.13.205", "16.02.x", "\u0661\u0666", "16,02"])
def test_area_code_type_rejects_bad_format(code):
    with pytest.raises(ValidationError):
        _Place(code=code)
