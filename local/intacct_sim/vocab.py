"""Vocabulary of generated values: entities, users, names, places and texts.

Values deliberately include unicode, ``&``, ``<``, quotes, newlines and empty fields, because those are
what break exporters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

BOOL_ALIASES = {"T": "true", "F": "false"}
STATUS_ALIASES = {"T": "active", "F": "inactive"}


@dataclass(frozen=True)
class Entity:
    """A multi-entity location (``MEGAENTITYID``)."""

    key: int
    id: str
    name: str
    currency: str
    country: str


DEFAULT_ENTITIES = (
    Entity(1, "US", "United States", "USD", "US"),
    Entity(2, "UK", "United Kingdom", "GBP", "GB"),
    Entity(3, "DE", "Deutschland", "EUR", "DE"),
)

# (user record number, login id): CREATEDBY/MODIFIEDBY carry the record number, AUDITHISTORY the login.
USERS = ((1, "Admin"), (3, "sim-user"), (7, "jdoe"), (12, "mschmidt"), (28, "integration.bot"))

COMPANY_BASES = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises", "Müller & Söhne",
    "O'Brien \"Quotes\"", "株式会社 山田商事", "北京星辰科技", "Café Olé", "Zürich Rück",
    "Smith & Wesson <Tools>", "Åkesson Bygg", "Łódź Logistyka", "Ñandú Exportaciones", "Δέλτα Τεχνική",
    "Промсервис", "Nguyễn Trading",
    "Søren Kierkegaard", "L'Oréal Partenaires", "Bäckerei Groß", "<Script> Labs", "AT&T Reseller",
    "🚀 Rocket Supplies", "Hooli", "Vandelay Industries", "Soylent", "Tyrell", "Cyberdyne",
)  # fmt: skip
COMPANY_SUFFIXES = ("Inc.", "GmbH", "<GmbH>", "LLC", "Ltd", "S.A.", "K.K.", "& Co.", "AG", "plc", "")
FIRST_NAMES = (
    "José", "Zoë", "Anna", "Björn", "Chloé", "Dmitri", "Émile", "François", "Günter", "Håkon", "Ingrid",
    "Jürgen", "Kenji", "Łucja", "María", "Nuño", "Priya", "Quentin", "Renée", "Søren", "太郎", "花子", "Wei",
    "Yusuf", "Zoltán", "Mary-Jane", "D'Arcy", "John", "Alice", "Bob",
)  # fmt: skip
LAST_NAMES = (
    "O'Brien", "Müller", "Smith", "García", "Nguyễn", "田中", "王", "Øster", "Kowalski", "Dubois",
    "Van der Berg", "Al-Farsi", "Johnson", "Brown", "Schäfer", "Ivanov", "Rossi", "Papadopoulos",
    "Sørensen", "\"Doc\" Holliday", "Smith & Sons", "Lee",
)  # fmt: skip
# (city, state, ISO country code, country name)
LOCATIONS = (
    ("San Francisco", "CA", "US", "United States"), ("New York", "NY", "US", "United States"),
    ("Austin", "TX", "US", "United States"), ("Seattle", "WA", "US", "United States"),
    ("Boston", "MA", "US", "United States"), ("London", "", "GB", "United Kingdom"),
    ("Manchester", "", "GB", "United Kingdom"), ("Edinburgh", "", "GB", "United Kingdom"),
    ("München", "BY", "DE", "Germany"), ("Köln", "NW", "DE", "Germany"),
    ("Düsseldorf", "NW", "DE", "Germany"), ("Berlin", "BE", "DE", "Germany"),
    ("東京", "", "JP", "Japan"), ("Zürich", "ZH", "CH", "Switzerland"),
    ("São Paulo", "SP", "BR", "Brazil"),
)  # fmt: skip
STREETS = (
    "Main St", "Baker Street", "Königstraße", "Rue de l'Église", "Market & 5th", "Oak Avenue",
    "Hauptstraße", "High Street", "Calle Mayor", "Elm St \"Rear\"",
)  # fmt: skip
ADDRESS2 = ("Suite 100", "Floor 3 & 4", "c/o <Accounts>", "Gebäude B", "PO Box 42", "Unit 7")
COMMENTS = (
    "Preferred customer & partner", "Line one\nLine two", "Contains <tags> and \"quotes\"",
    "Zahlung nach Rücksprache", "支払い条件: 30日", "It's complicated",
)  # fmt: skip
GL_TITLES = (
    "Cash", "Accounts Receivable", "Inventory", "Prepaid Expenses", "Fixed Assets", "Accounts Payable",
    "Accrued Liabilities", "Retained Earnings", "Revenue", "Cost of Goods Sold", "R&D Expenses",
    "Umsatzerlöse 19% USt", "Bank \"Main\" account", "現金及び預金", "Salaries <Admin>",
    "Travel & Entertainment",
)  # fmt: skip
GL_QUALIFIERS = ("", "Operating", "Trade", "Intercompany", "EUR", "Zürich", "Reserve")
GL_CATEGORIES = (
    "Cash", "Accounts Receivable", "Inventory", "Fixed Assets", "Accounts Payable", "Equity", "Revenue",
    "Cost of Sales", "Operating Expenses", "",
)  # fmt: skip


def ascii_slug(text: str) -> str:
    """Lower-case ASCII rendering of a name for e-mail addresses ('user' when nothing is left)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = "".join(ch for ch in plain.lower() if ch.isalnum())
    return slug or "user"


_FIRST_ASCII = tuple(ascii_slug(n) for n in FIRST_NAMES)
_LAST_ASCII = tuple(ascii_slug(n) for n in LAST_NAMES)

FIRST_ASCII = _FIRST_ASCII
LAST_ASCII = _LAST_ASCII
