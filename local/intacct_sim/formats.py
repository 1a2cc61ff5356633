"""The API user's date and time preferences: how TIMESTAMP and DATE values are written and read.

Evidence: the official "Users" page (developer.intacct.com/api/company-console/users/, section "List User
Date and Time Formatting Preferences") describes ``readUserFormatting``: ``dateformat`` is four characters,
the separator then the order of ``m`` (month), ``d`` (day) and ``Y`` (four-digit year) or ``y`` (two-digit
year), e.g. ``.mdy`` = MM.DD.YY and ``-Ymd`` = YYYY-MM-DD; ``clock`` is 12 or 24; ``gmtoffset`` is
``+/- hh:mm``. Intacct's UI offers 24 date formats (orders MDY/DMY/YMD, separators space . / -, two- or
four-digit years; docs/intacct/PROTOCOL.md §9). Estuary's production connector (source-sage-intacct, sage.py
``setup``) reads these preferences and interprets every TIMESTAMP with them, which is evidence that output
follows them.

Values are kept as tenant wall-clock "naive seconds" (see timeutil); this module only renders and parses.
"""

from __future__ import annotations

import calendar
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

import numpy as np

from .timeutil import NULL_TIME

SEPARATORS = (" ", ".", "/", "-")
ORDERS = ("mdY", "dmY", "Ymd", "mdy", "dmy", "ymd")
CLOCKS = (12, 24)
FILTER_DATE_FORMATS = ("standard", "user")

# 'MM/DD/YYYY' or 'MM/DD/YYYY HH:MM:SS' (24 h): the "Parameter Formats" page and every documented query
# example (docs/intacct/PROTOCOL.md §3, §7). One-digit month/day/hour and a missing ':SS' are tolerated as
# before.
_STANDARD_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?$")


class DateValueError(ValueError):
    """A date or timestamp text that does not parse in the expected format."""


def validate_dateformat(value: str) -> str:
    """A dateformat preference ('/mdY', '.ymd', ' dmY', ...) or ValueError."""
    if not isinstance(value, str) or len(value) != 4 or value[0] not in SEPARATORS or value[1:] not in ORDERS:
        raise ValueError(
            f"date_format must be a separator ({' ./-'!r}) followed by one of {list(ORDERS)}, got {value!r}"
        )
    return value


def validate_clock(value: object) -> int:
    """12 or 24."""
    try:
        clock = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        clock = 0
    if clock not in CLOCKS:
        raise ValueError(f"clock must be 12 or 24, got {value!r}")
    return clock


def _naive(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise DateValueError(str(exc)) from None
    return calendar.timegm(moment.timetuple())


def _year(text: str) -> int:
    value = int(text)
    if len(text) == 2:  # two-digit years pivot like strptime's %y: 69-99 -> 19xx, 00-68 -> 20xx
        value += 1900 if value >= 69 else 2000
    return value


@dataclass(frozen=True)
class UserFormat:
    """One user's date and time preference."""

    dateformat: str = "/mdY"
    clock: int = 24

    def __post_init__(self) -> None:
        validate_dateformat(self.dateformat)
        validate_clock(self.clock)

    @property
    def separator(self) -> str:
        return self.dateformat[0]

    @property
    def order(self) -> str:
        return self.dateformat[1:]

    def describe(self) -> str:
        """Human form, e.g. 'MM/DD/YYYY HH:MM:SS' or 'DD.MM.YY hh:mm:ss AM'."""
        names = {"m": "MM", "d": "DD", "Y": "YYYY", "y": "YY"}
        date = self.separator.join(names[c] for c in self.order)
        return f"{date} {'HH:MM:SS' if self.clock == 24 else 'hh:mm:ss AM'}"

    # ----- rendering ----------------------------------------------------------------------------

    def _date_parts(self) -> Callable[[str], str]:
        sep = self.separator
        getters = {
            "m": lambda s: s[5:7],
            "d": lambda s: s[8:10],
            "Y": lambda s: s[0:4],
            "y": lambda s: s[2:4],
        }
        a, b, c = (getters[ch] for ch in self.order)
        return lambda s: f"{a(s)}{sep}{b(s)}{sep}{c(s)}"

    def render(self, seconds: np.ndarray, date_only: bool) -> list[str]:
        """Naive seconds as this user sees them; NULL_TIME becomes ''."""
        if len(seconds) == 0:
            return []
        nulls = seconds == NULL_TIME
        iso = np.datetime_as_string(np.where(nulls, 0, seconds).astype("datetime64[s]"), unit="s").tolist()
        if self.dateformat == "/mdY" and (date_only or self.clock == 24):  # the common case, fastest
            if date_only:
                out = [f"{s[5:7]}/{s[8:10]}/{s[0:4]}" for s in iso]
            else:
                out = [f"{s[5:7]}/{s[8:10]}/{s[0:4]} {s[11:19]}" for s in iso]
        else:
            date = self._date_parts()
            if date_only:
                out = [date(s) for s in iso]
            elif self.clock == 24:
                out = [f"{date(s)} {s[11:19]}" for s in iso]
            else:
                out = [f"{date(s)} {_twelve(s)}" for s in iso]
        if nulls.any():
            for i in np.flatnonzero(nulls).tolist():
                out[i] = ""
        return out

    # ----- parsing ------------------------------------------------------------------------------

    def _regex(self) -> re.Pattern[str]:
        parts = {"m": r"(?P<m>\d{1,2})", "d": r"(?P<d>\d{1,2})", "Y": r"(?P<y>\d{4})", "y": r"(?P<y>\d{2})"}
        sep = re.escape(self.separator)
        date = sep.join(parts[c] for c in self.order)
        if self.clock == 24:
            time = r"(?: (?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
        else:
            time = r"(?: (?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))? ?(?P<P>[AaPp][Mm]))?"
        return re.compile(f"^{date}{time}$")

    def parse(self, text: str) -> int:
        """Parse a value written in this user's format (date only or with the time)."""
        match = self._regex().match(text.strip())
        if not match:
            raise DateValueError(f"'{text}' is not a date in the format {self.describe()}")
        hour = int(match["H"] or 0)
        if self.clock == 12 and match["H"] is not None:
            if not 1 <= hour <= 12:
                raise DateValueError(f"'{text}' has an hour outside 1..12 for a 12-hour clock")
            hour = hour % 12 + (12 if match["P"].upper() == "PM" else 0)
        return _naive(
            _year(match["y"]),
            int(match["m"]),
            int(match["d"]),
            hour,
            int(match["M"] or 0),
            int(match["S"] or 0),
        )


def _twelve(iso: str) -> str:
    hour = int(iso[11:13])
    return f"{hour % 12 or 12:02d}{iso[13:19]} {'AM' if hour < 12 else 'PM'}"


STANDARD = UserFormat("/mdY", 24)


def parse_standard(text: str) -> int:
    """'MM/DD/YYYY' or 'MM/DD/YYYY HH:MM:SS' (24 h), the documented parameter format."""
    match = _STANDARD_RE.match(text.strip())
    if not match:
        raise DateValueError(f"'{text}' is not a date in MM/DD/YYYY or MM/DD/YYYY HH:MM:SS format")
    month, day, year, hour, minute, second = match.groups()
    return _naive(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))


def parse_iso(text: str) -> int | None:
    """'YYYY-MM-DD[ HH:MM:SS]' (the simulator's own canonical form), or None when not in that form."""
    match = _ISO_RE.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = match.groups()
    return _naive(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))


def gmt_offset(tz: tzinfo, style: str = "colon") -> str:
    """The tenant zone's UTC offset now: '+hh:mm' (the official docs' form) or '+hhmm' (style 'compact')."""
    delta = datetime.now(tz).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if style == 'colon' else ''}{rest:02d}"


def iso_text(seconds: int, date_only: bool = False) -> str:
    """Canonical 'YYYY-MM-DD HH:MM:SS' of naive seconds (internal round trips, never on the wire)."""
    text = str(np.datetime64(int(seconds), "s")).replace("T", " ")
    return text[:10] if date_only else text


@dataclass
class Formats:
    """The tenant's current formatting state, shared by every TIMESTAMP/DATE column of one dataset.

    ``user`` is the API user's preference (output, and filters in ``user`` mode); ``filter_mode`` chooses
    how filter values are parsed: ``standard`` (MM/DD/YYYY [HH:MM:SS] 24 h, what the "Parameter Formats"
    page documents) or ``user`` (the user's own format). ``version`` changes whenever anything does, so
    cached filter results keyed on it stay correct.
    """

    user: UserFormat = STANDARD
    filter_mode: str = "standard"
    locale: str = "en_US"
    version: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(
        self,
        dateformat: str | None = None,
        clock: int | None = None,
        filter_mode: str | None = None,
        locale: str | None = None,
    ) -> None:
        """Change preferences (validated)."""
        with self._lock:
            user = UserFormat(
                validate_dateformat(dateformat) if dateformat is not None else self.user.dateformat,
                validate_clock(clock) if clock is not None else self.user.clock,
            )
            if filter_mode is not None and filter_mode not in FILTER_DATE_FORMATS:
                raise ValueError(f"filter_date_format must be one of {list(FILTER_DATE_FORMATS)}")
            self.user = user
            self.filter_mode = filter_mode or self.filter_mode
            self.locale = locale or self.locale
            self.version += 1

    def render(self, seconds: np.ndarray, date_only: bool) -> list[str]:
        """Values as the API writes them."""
        return self.user.render(seconds, date_only)

    def render_one(self, seconds: int, date_only: bool = False) -> str:
        """One value as the API writes it."""
        return self.user.render(np.array([seconds], dtype=np.int64), date_only)[0]

    def parse_filter(self, text: str) -> int:
        """A filter value (query or readByQuery) in the active filter format."""
        if self.filter_mode == "user":
            return self.user.parse(text)
        return parse_standard(text)

    def filter_format(self) -> str:
        """The form filter values must take now, for error messages."""
        if self.filter_mode == "user":
            return self.user.describe()
        return "MM/DD/YYYY or MM/DD/YYYY HH:MM:SS"

    def parse_stored(self, text: str) -> int:
        """A value given to the control API (upsert): the canonical ISO form, else the user's format."""
        iso = parse_iso(text)
        return iso if iso is not None else self.user.parse(text)
