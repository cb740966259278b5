"""Escaping for untrusted DocketQA text wherever it lands: XML, Markdown/HTML, links, workflow commands."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

# XML 1.0 `Char` production: everything else (NUL, most C0 controls, lone surrogates, U+FFFE/U+FFFF)
# makes the document unparseable, so it is dropped.
# Spelled as the forbidden set rather than the complement of `Char`: the same characters, searched faster.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Lone surrogates cannot be encoded as UTF-8 (json.loads happily produces them from "\ud800").
_SURROGATE = re.compile("[\ud800-\udfff]")
# Dropped from Markdown: controls (tab and line breaks are handled apart), surrogates, U+FFFE/U+FFFF, and
# bidirectional overrides/isolates, which can make a rendered line read differently from what it says.
_MD_JUNK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
_NEWLINES = re.compile(r"\s*(?:\r\n|\r|\n)\s*")
# Characters that start Markdown syntax anywhere in a line (emphasis, code, links, images, tables,
# strikethrough, math, escapes). `<`, `>`, `&` and `"` become HTML entities instead: a backslash
# before them would print the entity's text literally.
_MD_SPECIALS = "\\`*_[]|~$!{}"  # the backslash first, so the escapes added after it are not doubled
# Constructs that only matter at the start of a line: headings, lists, setext underlines, ordered lists.
_MD_LINE_STARTERS = frozenset("#+=-")
_MD_ORDERED = re.compile(r"^(\d+)([.)])")
_WEB_URL = re.compile(r"https?://[^\s/?#]", re.IGNORECASE)
# A link destination (group 1, kept), or "@" / "#" where GitHub could read a mention or an issue reference.
_NOTIFIER = re.compile(r"(\]\([^)\s]*\))|(?<![\w`/&])(?:@(?=[A-Za-z0-9])|#(?=\d))")
# Kept as is inside a Markdown link destination; everything else (quotes, parentheses, `|`, `\`,
# backticks, spaces, controls, non-ASCII) is percent-encoded so it can end neither the link nor a table cell.
_URL_SAFE = "-._~:/?#[]@!$&*+,;=%"
#: What ``xml_attribute`` writes as a character reference by default.
TAB_REFERENCE = {"\t": "&#9;"}


def _html_escape(text: str) -> str:
    # Only the characters that can open markup or end an attribute; quotes other than '"' stay readable.
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text or ">" in text or '"' in text:
        text = text.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return text


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (NUL, C0 controls but tab/LF/CR, lone surrogates, U+FFFE/F)."""
    # Searching first is cheaper than substituting when (as almost always) there is nothing to remove.
    return _XML_ILLEGAL.sub("", text) if _XML_ILLEGAL.search(text) else text


def xml_text(text: str) -> str:
    """Escape element text for XML (``&``, ``<``, ``>``); each replace only when needed, as this is a hot path."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text or ">" in text:
        text = text.replace("<", "&lt;").replace(">", "&gt;")
    return text


def xml_attribute(text: str, *, references: Mapping[str, str] = TAB_REFERENCE) -> str:
    """Escape a double-quoted XML attribute value; ``references`` are written as character references
    (at least the tab: a parser would read a raw one back as a space)."""
    text = xml_text(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    for char, reference in references.items():
        if char in text:
            text = text.replace(char, reference)
    return text


def unicode_safe(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so it always encodes as UTF-8 (JSON output)."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def one_line(text: str) -> str:
    """Line breaks (and the spaces around them) collapsed to single spaces, ends stripped."""
    if "\n" in text or "\r" in text:
        return _NEWLINES.sub(" ", text).strip()
    return text.strip()


def md_inline(text: str) -> str:
    """Escape text for one line of Markdown or a GFM table cell: no HTML, no syntax, no line breaks."""
    # The checks before each step keep the common case (plain text) cheap: reports have 20,000 steps.
    if not text.isprintable():
        text = _MD_JUNK.sub("", text)
    # Whitespace runs collapse (HTML shows them as one space anyway), line breaks included.
    text = " ".join(text.split())
    for char in _MD_SPECIALS:
        if char in text:
            text = text.replace(char, "\\" + char)
    if text[:1] in _MD_LINE_STARTERS:
        text = "\\" + text
    elif text[:1].isdigit():
        text = _MD_ORDERED.sub(r"\1\\\2", text)
    return _html_escape(text)


def md_block(text: str) -> str:
    """Escape multi-line text as a Markdown block quote, keeping its line breaks and paragraphs."""
    lines = _MD_JUNK.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    for line in lines:
        escaped = md_inline(line)
        if not escaped:
            if out and out[-1] != ">":
                out.append(">")
        elif out and out[-1] != ">":
            # A trailing backslash is CommonMark's hard line break: keep the agent's own line breaks.
            out[-1] += "\\"
            out.append(f"> {escaped}")
        else:
            out.append(f"> {escaped}")
    if out and out[-1] == ">":
        out.pop()
    return "\n".join(out) if out else "> (empty)"


def html_text(text: str) -> str:
    """Escape text for one line inside raw HTML we write ourselves (e.g. ``<summary>``), where Markdown is inert."""
    return _html_escape(" ".join(_MD_JUNK.sub("", text).split()))


def safe_link(url: str | None) -> str | None:
    """An http(s) URL made safe as a Markdown link or image destination, or None for anything else."""
    if not url:
        return None
    url = url.strip()
    if not _WEB_URL.match(url):
        return None
    try:
        urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    # Entities are decoded inside link destinations, so "&" must itself be written as an entity.
    return quote(url, safe=_URL_SAFE, errors="replace").replace("&", "&amp;")


def truncate(text: str, limit: int, *, marker: str = "…", trim: bool = False) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``marker`` when something was cut.

    With ``trim``, whitespace left at the cut goes before the marker (``"two words…"``, not ``"two …"``).
    """
    if len(text) <= limit:
        return text
    kept = text[: max(0, limit - len(marker))]
    return (kept.rstrip() if trim else kept) + marker


def quote_value(text: str, *, limit: int) -> str:
    """A user's value quoted for an error message: escaped as a Python literal, cut after ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def no_notifications(markdown: str) -> str:
    """Markdown in which ``@user``/``@org/team`` and ``#123`` cannot notify anyone or cross-reference an issue.

    In a pull-request comment GitHub turns them into mentions (a notification) and references (an event in
    that issue's timeline). A zero-width space after the sign breaks both and reads the same; link destinations
    (already percent-encoded by ``safe_link``, so free of spaces and ``)``) are left as they are.
    """
    return _NOTIFIER.sub(lambda m: m.group(0) if m.group(1) else m.group(0) + "&#8203;", markdown)


def escape_command_data(text: str) -> str:
    """Escape a GitHub workflow-command message (actions/toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_command_property(text: str) -> str:
    """Escape a GitHub workflow-command property value (actions/toolkit ``escapeProperty``)."""
    return escape_command_data(text).replace(":", "%3A").replace(",", "%2C")
