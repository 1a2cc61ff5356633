"""A small streaming XML writer with optional indentation (``includewhitespace``).

Hand-written instead of xmltodict.unparse because a 2000-record page must render in milliseconds and
empty values must stay empty elements.
"""

from __future__ import annotations

from collections.abc import Sequence

# As recorded from a real tenant (real-objects/README.md, "Common envelope"): lower-case ``utf-8``, then one
# newline, then the document (on one line unless ``includewhitespace`` asks for indentation).
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


def escape_text(text: str) -> str:
    """Escape element text (&, <, >)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:  # a literal CR would be normalised away by the client's XML parser
        text = text.replace("\r", "&#13;")
    return text


def escape_attr(text: str) -> str:
    """Escape an attribute value (double-quoted)."""
    return escape_text(text).replace('"', "&quot;")


def _attrs(attrs: dict[str, str] | None) -> str:
    if not attrs:
        return ""
    return "".join(f' {k}="{escape_attr(str(v))}"' for k, v in attrs.items())


class XmlWriter:
    """Builds one document; ``pretty`` indents by two spaces per level."""

    def __init__(self, pretty: bool = True) -> None:
        self.pretty = pretty
        self.parts: list[str] = [XML_DECLARATION]
        self._stack: list[str] = []

    def _newline(self, depth: int) -> None:
        if self.pretty and len(self.parts) > 1:
            self.parts.append("\n" + "  " * depth)

    def start(self, tag: str, attrs: dict[str, str] | None = None) -> None:
        """Open an element that will have children."""
        self._newline(len(self._stack))
        self.parts.append(f"<{tag}{_attrs(attrs)}>")
        self._stack.append(tag)

    def end(self) -> None:
        """Close the innermost open element."""
        tag = self._stack.pop()
        self._newline(len(self._stack))
        self.parts.append(f"</{tag}>")

    def leaf(self, tag: str, text: str | None = "", attrs: dict[str, str] | None = None) -> None:
        """An element with text only (``<tag></tag>`` when empty)."""
        self._newline(len(self._stack))
        self.parts.append(f"<{tag}{_attrs(attrs)}>{escape_text(text or '')}</{tag}>")

    def empty(self, tag: str, attrs: dict[str, str] | None = None) -> None:
        """A self-closing element."""
        self._newline(len(self._stack))
        self.parts.append(f"<{tag}{_attrs(attrs)}/>")

    def text(self, text: str) -> None:
        """Raw text content inside the current element (escaped)."""
        self.parts.append(escape_text(text))

    def records(self, element: str, labels: Sequence[str], columns: Sequence[Sequence[str]]) -> None:
        """Many flat records ``<element><LABEL>value</LABEL>...</element>`` from column-major values.

        This is the hot path of 2000-record pages: a column is escaped only if it contains a special
        character at all, and each record is one ``%`` substitution into a prebuilt template.
        """
        if not columns or not columns[0]:
            return
        depth = len(self._stack)
        outer = "\n" + "  " * depth if self.pretty else ""
        inner = "\n" + "  " * (depth + 1) if self.pretty else ""
        escaped = []
        for values in columns:
            # Values never contain NUL (not legal in XML), so a column escapes as one joined string.
            joined = "\x00".join(values)
            if "&" in joined or "<" in joined or ">" in joined or "\r" in joined:
                values = escape_text(joined).split("\x00")
            escaped.append(values)
        safe_labels = [label.replace("%", "%%") for label in labels]
        fields = "".join(f"{inner}<{label}>%s</{label}>" for label in safe_labels)
        template = f"{outer}<{element}>{fields}{outer}</{element}>"
        self.parts.extend(template % row for row in zip(*escaped, strict=True))

    def to_bytes(self) -> bytes:
        """The finished document, UTF-8 encoded."""
        assert not self._stack, f"unclosed elements {self._stack}"
        if self.pretty:
            self.parts.append("\n")
        return "".join(self.parts).encode("utf-8")
