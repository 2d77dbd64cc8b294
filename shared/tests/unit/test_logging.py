from __future__ import annotations

import json
import logging

import pytest
import structlog

from jemput.shared.logging import configure_logging, mask_niks


def test_mask_keeps_the_region_only() -> None:
    assert mask_niks("nik=1602055705900012 ok") == "nik=160205********** ok"
    assert mask_niks("160205570590001299") == "160205570590001299"  # 18 digits: not a NIK


def test_logs_are_json_with_niks_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=True)
    try:
        structlog.get_logger("t").info("resident.read", nik="1602055705900012")
        logging.getLogger("uvicorn.error").warning("bad request for 1602055705900012")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    assert lines[0]["nik"] == "160205**********"
    assert lines[0]["event"] == "resident.read"
    assert "1602055705900012" not in json.dumps(lines)
