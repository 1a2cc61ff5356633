"""Parser for readByQuery's SQL-WHERE-like query string.

Grammar (keywords case-insensitive)::

    expr       := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" expr ")" | predicate
    predicate  := FIELD op literal
                | FIELD ["NOT"] "LIKE" literal
                | FIELD ["NOT"] "IN" "(" literal ("," literal)* ")"
                | FIELD "IS" ["NOT"] "NULL"
                | FIELD "BETWEEN" literal "AND" literal
    op         := "=" | "!=" | "<>" | "<" | ">" | "<=" | ">="
    literal    := 'single-quoted' (\\' or '' escapes a quote) | number

An empty string selects everything.
"""

from __future__ import annotations

import re

from .filters import MAX_IN_VALUES, Comparison, FilterError, Logical, Node

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|''|[^'\\])*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|<>|!=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_OPS = {
    "=": "equalto",
    "!=": "notequalto",
    "<>": "notequalto",
    "<": "lessthan",
    "<=": "lessthanorequalto",
    ">": "greaterthan",
    ">=": "greaterthanorequalto",
}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL", "BETWEEN"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"Invalid query: unexpected text at position {pos}: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "word" and value.upper() in _KEYWORDS:
            kind, value = "kw", value.upper()
        elif kind == "string":
            value = re.sub(r"\\(.)|''", lambda m: m.group(1) or "'", value[1:-1])
        tokens.append((kind, value))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        tok_kind, tok_value = self.peek()
        if tok_kind != kind or (value is not None and tok_value != value):
            wanted = value or kind
            raise FilterError(f"Invalid query: expected {wanted} but found {tok_value or 'end of query'!r}")
        self.pos += 1
        return tok_value

    def accept(self, kind: str, value: str) -> bool:
        if self.peek() == (kind, value):
            self.pos += 1
            return True
        return False

    def expr(self) -> Node:
        parts = [self.and_expr()]
        while self.accept("kw", "OR"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Logical("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.accept("kw", "AND"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else Logical("and", tuple(parts))

    def not_expr(self) -> Node:
        if self.accept("kw", "NOT"):
            return Logical("not", (self.not_expr(),))
        if self.accept("punct", "("):
            inner = self.expr()
            self.take("punct", ")")
            return inner
        return self.predicate()

    def literal(self) -> str:
        kind, value = self.peek()
        if kind not in ("string", "number"):
            raise FilterError(
                f"Invalid query: expected a quoted value or number but found {value or 'end of query'!r}"
            )
        self.pos += 1
        return value

    def predicate(self) -> Node:
        field = self.take("word")
        kind, value = self.peek()
        if kind == "op":
            self.pos += 1
            return Comparison(_OPS[value], field, (self.literal(),))
        negated = self.accept("kw", "NOT")
        if self.accept("kw", "LIKE"):
            return Comparison("notlike" if negated else "like", field, (self.literal(),))
        if self.accept("kw", "IN"):
            self.take("punct", "(")
            values = [self.literal()]
            while self.accept("punct", ","):
                values.append(self.literal())
            self.take("punct", ")")
            if len(values) > MAX_IN_VALUES:
                raise FilterError(f"Invalid query: IN accepts at most {MAX_IN_VALUES} values")
            return Comparison("notin" if negated else "in", field, tuple(values))
        if negated:
            raise FilterError(f"Invalid query: expected LIKE or IN after NOT for field {field}")
        if self.accept("kw", "IS"):
            negated = self.accept("kw", "NOT")
            self.take("kw", "NULL")
            return Comparison("isnotnull" if negated else "isnull", field)
        if self.accept("kw", "BETWEEN"):
            low = self.literal()
            self.take("kw", "AND")
            return Comparison("between", field, (low, self.literal()))
        raise FilterError(
            f"Invalid query: expected an operator after {field} but found {value or 'end of query'!r}"
        )


def parse_query_string(text: str | None) -> Node | None:
    """Parse a readByQuery query string; None for an empty query (all records)."""
    if text is None or not text.strip():
        return None
    parser = _Parser(_tokenize(text))
    node = parser.expr()
    if parser.pos != len(parser.tokens):
        raise FilterError(f"Invalid query: unexpected {parser.peek()[1]!r}")
    return node
