"""Regenerate ``realobjects.py`` from the recorded real-tenant material (a developer tool, not imported).

    cd local && python -m intacct_sim._build_realobjects docs/intacct/real-objects \
        > intacct_sim/realobjects.py && ruff format intacct_sim/realobjects.py

Inputs: ``<OBJECT>.fields`` (the select lists a production tap sent, in request order, ``#`` kept) and
``records/<OBJECT>.xml`` (1-3 recorded record elements per object, scrubbed). For every field it derives:

* the lookup DATATYPE: from the recorded value form where one was recorded (``true``/``false`` -> BOOLEAN,
  ``MM/DD/YYYY HH:MM:SS`` -> TIMESTAMP, ``MM/DD/YYYY`` -> DATE, digits -> INTEGER or an amount type by
  name) and from the name otherwise (``*KEY`` INTEGER, ``*DATE`` DATE, amounts CURRENCY, ...);
* the share of records that fill it: high where the recording has a value, low where it is empty;
* a typical text length: the recorded length (for a scrubbed value ``-Fallback-scrubbed-`` + N random
  characters, N is the original length, which the scrubber keeps).
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from statistics import median

# ITEM's recorded record silently lacks these requested fields (real-objects/README.md).
ITEM_OMITTED = (
    "ENABLE_REPLENISHMENT",
    "REPLENISHMENT_METHOD",
    "DEFAULT_REPLENISHMENT_UOM",
    "REORDER_POINT",
    "SAFETY_STOCK",
    "REORDER_QTY",
    "MAX_ORDER_QTY",
)
TIMESTAMP_NAMES = {"WHENCREATED", "WHENMODIFIED", "AUWHENCREATED", "MODIFIED", "createdAt", "updatedAt"}
WHEN_DATES = {"WHENDUE", "WHENPOSTED", "WHENPAID", "WHENDISCOUNT", "WHENLASTBILLED", "WHENLASTPAID"}
MONEY = re.compile(
    r"(AMOUNT|AMT|TOTAL|DUE|PAID|BALANCE|BAL$|PRICE|COST|LIMIT|CHARGE|RETAINED|RELEASED|DEBIT|CREDIT(?!CARD)"
    r"|SELECTED|ENTERED|APPLIED|FEE$|BUDGET|CAPITAL)"
)
DECIMALS = re.compile(r"(RATE|QTY|QUANTITY|UNITS|FACTOR|CONVFACTOR|LATITUDE|LONGITUDE|WEIGHT|HOURS|DISCOUNT)")
PERCENTS = re.compile(r"PERCENT")
INTEGER_NAMES = re.compile(
    r"(KEY$|DIMKEY$|^RECORDNO$|\.RECORDNO$|^CREATEDBY$|^MODIFIEDBY$|LINE_NO$|^USERNO$|(?<!DIS)(?<!AC)COUNT$|YEAR$"
    r"|MONTH$|DAYS$|^id$|^createdBy$|^updatedBy$|^TR_TYPE$|^PRIORITY$)"
)
BOOLEAN_PREFIX = re.compile(r"^(REQUIRE|ENABLE|IS[A-Z]|ALLOW|DISABLE|USE|HAS_|INCLUDE|EXCLUDE|PREVENT|AUTO)")
TEXT_IDS = re.compile(r"(ID$|NO$|NUMBER$|ID_|CODE$|ZIP$|PHONE\d?$|FAX$|CELLPHONE$|PAGER$|SUPDOCID$)")
CUSTOM = re.compile(r"(_CF_|^HG_TEST_CF_|^GLE_|^ORDER_NUMBER_TESTING$)")


def classify(value: str) -> str:
    if value == "":
        return "empty"
    if value in ("true", "false"):
        return "bool"
    if re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", value):
        return "ts"
    if re.fullmatch(r"\d\d/\d\d/\d{4}", value):
        return "date"
    if re.fullmatch(r"-?\d+", value):
        return "int"
    if re.fullmatch(r"-?\d+\.\d+", value):
        return "dec"
    return "text"


def original_length(value: str) -> int:
    if value.startswith("-Fallback-scrubbed-"):
        return len(value) - len("-Fallback-scrubbed-")
    return len(value)


def datatype(obj: str, name: str, classes: set[str]) -> str:
    last = name.split(".")[-1].rstrip("#")
    if obj == "GLDETAIL" and name == "RECORDNO":
        return "TEXT"  # recorded as '3220-55186-27292--accrual'
    if name in ("STATUS",):
        return "ENUM"
    if name in TIMESTAMP_NAMES or "ts" in classes:
        return "TIMESTAMP"
    if last.endswith("TODATE"):
        return "CURRENCY"  # PCBINVSUMMARY.*TODATE are amounts "to date"
    if "date" in classes or last.endswith("DATE") or last in WHEN_DATES:
        return "DATE"
    if "bool" in classes:
        return "BOOLEAN"
    if classes <= {"empty"} and BOOLEAN_PREFIX.match(last) and not last.endswith(("ID", "KEY", "NAME")):
        return "BOOLEAN"
    if INTEGER_NAMES.search(last):
        return "INTEGER"
    if TEXT_IDS.search(last) and "dec" not in classes:
        return "TEXT"
    numeric = bool(classes & {"int", "dec"})
    if last.startswith("DAYS") or last.startswith("DUE_IN") or last.endswith("PERIODS"):
        return "INTEGER"
    if last.endswith(("SCHEDULE", "LIST", "RESPONSEDUE")):
        return "TEXT"
    if PERCENTS.search(last):
        return "PERCENT"
    if DECIMALS.search(last) and (numeric or classes <= {"empty"}):
        return "DECIMAL"
    if MONEY.search(last) and (numeric or classes <= {"empty"}):
        return "CURRENCY"
    if "dec" in classes:
        return "DECIMAL"
    # Recorded integers were fuzzed by the scrubber (IDs such as CUSTOMERID came back as digits), so a
    # recorded integer without a numeric name stays TEXT.
    return "TEXT"


def profile(folder: Path, obj: str) -> list[tuple[str, str, float, int, str]]:
    names = [line.strip() for line in (folder / f"{obj}.fields").read_text().splitlines() if line.strip()]
    present = [n for n in names if not (obj == "ITEM" and n in ITEM_OMITTED)]
    values: dict[str, list[str]] = {n: [] for n in names}
    records = folder / "records" / f"{obj}.xml"
    for line in records.read_text().splitlines() if records.exists() else []:
        if not line.strip():
            continue
        element = ET.fromstring(line)  # noqa: S314 - the project's own recorded corpus
        for name, child in zip(present, element, strict=False):
            values[name].append(child.text or "")
    out = []
    for name in names:
        seen = values[name]
        classes = {classify(v) for v in seen}
        filled = [v for v in seen if v]
        share = (len(filled) / len(seen)) if seen else 0.0
        fill = 0.9 if share == 1 else 0.05 if share == 0 else round(share, 2)
        length = int(median([original_length(v) for v in filled])) if filled else 0
        hint = "true" if "true" in seen else "false" if "false" in seen else ""
        out.append((name, datatype(obj, name, classes), fill, length, hint))
    return out


def main(argv: list[str]) -> int:
    folder = Path(argv[1] if len(argv) > 1 else "docs/intacct/real-objects")
    objects = sorted(
        p.stem for p in folder.glob("*.fields") if "." not in p.stem and p.stem != "getDimensions"
    )
    print('"""Field profiles of real Sage Intacct objects. GENERATED by ``_build_realobjects.py``.')
    print()
    print("Source: the public hotgluexyz/tap-intacct smoke-test cassettes as summarised in")
    print("docs/intacct/real-objects (``<OBJECT>.fields``, ``records/<OBJECT>.xml``). One tuple")
    print("per field, in the recorded request order: (name, lookup DATATYPE, share of records that")
    print("fill it, typical text length, recorded boolean value or ''); CUSTOM_FIELD marks tenant fields.")
    print('"""')
    print()
    print("from __future__ import annotations")
    print()
    print(f"CUSTOM_FIELD = {CUSTOM.pattern!r}")
    print(f"ITEM_OMITTED = {ITEM_OMITTED!r}")
    print()
    print("PROFILES: dict[str, tuple[tuple[str, str, float, int, str], ...]] = {")
    for obj in objects:
        print(f"    {obj!r}: (")
        for row in profile(folder, obj):
            print(f"        {row!r},")
        print("    ),")
    print("}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
