"""Blank-card serials: a prefix and a zero-padded number (`KTP-000123`), received in ranges.

A blank is identified by its serial, so the ranges of two allocations never overlap and a
serial becomes a card (or a spoiled blank) once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SERIAL_PATTERN = r"^[A-Za-z0-9./-]{0,18}[0-9]{1,12}$"
_SERIAL_RE = re.compile(r"^(?P<prefix>.*?)(?P<number>[0-9]+)$")


class SerialRangeInvalid(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Serial:
    prefix: str
    number: int
    digits: int

    @classmethod
    def parse(cls, text: str) -> Serial:
        match = _SERIAL_RE.match(text)
        if match is None or not re.fullmatch(SERIAL_PATTERN, text):
            raise SerialRangeInvalid(f"{text!r} is not a blank serial")
        # The lazy prefix leaves the whole run of trailing digits to the number.
        digits = match.group("number")
        return cls(match.group("prefix"), int(digits), len(digits))

    def __str__(self) -> str:
        return f"{self.prefix}{self.number:0{self.digits}d}"


@dataclass(frozen=True, slots=True)
class SerialRange:
    """`first` to `last`, both included, under one prefix and width."""

    prefix: str
    first: int
    last: int
    digits: int

    @classmethod
    def of(cls, serial_from: str, serial_to: str) -> SerialRange:
        start, end = Serial.parse(serial_from), Serial.parse(serial_to)
        if (start.prefix, start.digits) != (end.prefix, end.digits):
            raise SerialRangeInvalid("both ends of a range need the same prefix and width")
        if start.number > end.number:
            raise SerialRangeInvalid("the range ends before it starts")
        return cls(start.prefix, start.number, end.number, start.digits)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def contains(self, serial: Serial) -> bool:
        return (serial.prefix, serial.digits) == (self.prefix, self.digits) and (
            self.first <= serial.number <= self.last
        )

    def overlaps(self, other: SerialRange) -> bool:
        return (
            (self.prefix, self.digits) == (other.prefix, other.digits)
            and self.first <= other.last
            and other.first <= self.last
        )
