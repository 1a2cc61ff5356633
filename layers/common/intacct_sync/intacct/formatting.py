"""The API user's date and time preferences, and reading and writing dates in them.

Intacct writes every TIMESTAMP and DATE value in the API user's preferences, answered by
``readUserFormatting`` (the official Users page, "List User Date and Time Formatting Preferences";
docs/intacct/PROTOCOL.md §9, Estuary's source-sage-intacct ``sage.py``): ``dateformat`` is the separator
(space ``.`` ``/`` ``-``) then the order of ``m``, ``d`` and ``Y`` (four-digit year) or ``y`` (two-digit
year), e.g. ``/mdY`` = MM/DD/YYYY; ``clock`` is 12 (``02/19/2024 08:18:00 AM``) or 24; ``gmtoffset`` is the
user's offset from UTC (``-08:00``; Estuary parses a compact ``-0800``).

Whether ``query`` filter values follow the same preferences or always take ``MM/DD/YYYY HH:MM:SS`` is not
documented (docs/intacct/PROTOCOL.md §9): ``STANDARD`` is that documented form, and the tenant decides which a
session uses (``intacct_sync.tenant``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .errors import UnreadableFormattingError

SEPARATORS = (" ", ".", "/", "-")
# Four-digit years only: a two-digit year (Intacct's lower-case y) cannot tell 1925 from 2025, and
# record dates span both (birth dates, asset acquisitions); such a preference is refused.
ORDERS = ("mdY", "dmY", "Ymd")
PREFERENCE_HINT = (
    "change the Intacct Web Services user's preferences (My Preferences: Date format with a four-digit "
    "year, Time format 12 or 24 hours) and run the export again"
)


@dataclass(frozen=True)
class DateFormat:
    """How one side writes dates: separator, order of month/day/year, and 12- or 24-hour clock."""

    separator: str = "/"
    order: str = "mdY"
    clock: int = 24

    def __post_init__(self) -> None:
        if self.separator not in SEPARATORS or self.order not in ORDERS or self.clock not in (12, 24):
            raise UnreadableFormattingError(
                f"the date format {self.separator}{self.order} with a {self.clock}-hour clock cannot be "
                f"read; {PREFERENCE_HINT}"
            )
        object.__setattr__(self, "_pattern", _pattern(self.separator, self.order, self.clock))

    @classmethod
    def of(cls, dateformat: str, clock: int | str) -> DateFormat:
        """The format of a ``readUserFormatting`` answer (``/mdY``, ``12``); UnreadableFormattingError
        names the preference to change when it cannot be read unambiguously."""
        text = str(dateformat or "")
        try:
            hours = int(clock)
        except (TypeError, ValueError):
            hours = 0
        if len(text) != 4 or text[0] not in SEPARATORS or text[1:] not in ORDERS or hours not in (12, 24):
            raise UnreadableFormattingError(
                f"the Intacct API user's date format {text!r} with clock {clock!r} cannot be read "
                f"unambiguously; " + PREFERENCE_HINT
            )
        return cls(text[0], text[1:], hours)

    @property
    def code(self) -> str:
        """``/mdY 24``: the preference as text (run documents, manifests)."""
        return f"{self.separator}{self.order} {self.clock}"

    @classmethod
    def from_code(cls, code: str) -> DateFormat:
        dateformat, _, clock = code.rpartition(" ")  # the separator may itself be a space (" dmY 12")
        return cls.of(dateformat, clock)

    @property
    def is_standard(self) -> bool:
        return self == STANDARD

    def parse(self, text: str) -> datetime:
        """A date (``MM/DD/YYYY``-like) or timestamp in this format as a naive datetime; ValueError when
        ``text`` is neither."""
        found = self._pattern.match(text.strip())  # type: ignore[attr-defined]
        if found is None:
            raise ValueError(f"{text[:40]!r} is not a date in the format {self.code}")
        parts = found.groupdict()
        hour = int(parts["hour"] or 0)
        if self.clock == 12 and parts["hour"] is not None:
            meridiem = parts["ampm"].upper()
            if not 1 <= hour <= 12:
                raise ValueError(f"{text[:40]!r} has hour {hour} on a 12-hour clock")
            hour = hour % 12 + (12 if meridiem == "PM" else 0)
        return datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            hour,
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
        )

    def sort_key(self, text: str) -> str | None:
        """A sortable form (``YYYY-MM-DDTHH:MM:SS``) of a date or timestamp in this format, or None."""
        try:
            return self.parse(text).isoformat()
        except ValueError:
            return None

    def format_date(self, day: date) -> str:
        values = {"m": f"{day.month:02d}", "d": f"{day.day:02d}", "Y": f"{day.year:04d}"}
        return self.separator.join(values[c] for c in self.order)

    def format_timestamp(self, moment: datetime) -> str:
        if self.clock == 24:
            return f"{self.format_date(moment)} {moment:%H:%M:%S}"
        hour = moment.hour % 12 or 12
        return f"{self.format_date(moment)} {hour:02d}:{moment:%M:%S} {'AM' if moment.hour < 12 else 'PM'}"


def _pattern(separator: str, order: str, clock: int) -> re.Pattern[str]:
    fields = {"m": r"(?P<month>\d{1,2})", "d": r"(?P<day>\d{1,2})", "Y": r"(?P<year>\d{4})"}
    day = re.escape(separator).join(fields[c] for c in order)
    time = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    if clock == 12:
        time += r"\s*(?P<ampm>[AaPp][Mm])"
    return re.compile(rf"^{day}(?:[ T]{time})?\Z")


# The documented form of dates in requests ("Parameter Formats": MM/DD/YYYY and MM/DD/YYYY HH:MM:SS).
STANDARD = DateFormat("/", "mdY", 24)

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})\Z")


@dataclass(frozen=True)
class UserFormatting:
    """``readUserFormatting``'s answer: locale, date format, offset from UTC and clock."""

    locale: str
    dateformat: str
    gmtoffset: str
    clock: int

    @property
    def date_format(self) -> DateFormat:
        """How Intacct writes this user's dates; UnreadableFormattingError when it cannot be read."""
        return DateFormat.of(self.dateformat, self.clock)

    @property
    def offset(self) -> timezone | None:
        """The user's offset from UTC as a fixed zone, or None when it is missing or malformed."""
        found = _OFFSET.match(self.gmtoffset.strip())
        if found is None:
            return None
        sign, hours, minutes = found.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)

    def to_dict(self) -> dict[str, Any]:
        return {
            "locale": self.locale,
            "dateformat": self.dateformat,
            "gmtoffset": self.gmtoffset,
            "clock": self.clock,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UserFormatting:
        try:
            clock = int(data.get("clock") or 0)
        except (TypeError, ValueError):
            clock = 0
        return cls(
            locale=str(data.get("locale") or ""),
            dateformat=str(data.get("dateformat") or ""),
            gmtoffset=str(data.get("gmtoffset") or ""),
            clock=clock,
        )
