"""Escaping of untrusted text: XML-illegal characters, Markdown and HTML, links, workflow commands."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gate.reports.escape import (
    escape_command_data,
    escape_command_property,
    html_text,
    md_block,
    md_inline,
    one_line,
    quote_value,
    safe_link,
    truncate,
    unicode_safe,
    xml_attribute,
    xml_safe,
    xml_text,
)
from tests.support.render import assert_only_our_html, parse_html, render_markdown


def _table(cell: str) -> list[list[str]]:
    html = render_markdown(f"| a | b |\n| --- | --- |\n| {cell} | end |\n", unsafe=True)
    assert_only_our_html(html)
    return parse_html(html).tables[0]


# --- XML ------------------------------------------------------------------------------------------------


def test_xml_safe_removes_every_character_xml_forbids() -> None:
    """NUL, C0 controls, lone surrogates and U+FFFE/U+FFFF are dropped, so the document parses."""
    text = "a\x00b\x01c\x08d\x0be\x0cf\x1fg\ud800h\udfffi\ufffej\uffffk"
    cleaned = xml_safe(text)
    assert cleaned == "abcdefghijk"
    ET.fromstring(f"<x>{cleaned}</x>")


def test_xml_safe_keeps_legal_characters() -> None:
    """Tabs, line breaks, accents, right-to-left text and emoji (astral plane) survive untouched."""
    text = "tab\tline\ncr\r é שלום 🧨 \U0010fffd \ud7ff \ue000 \ufffd"
    assert xml_safe(text) == text


def test_xml_escapes_round_trip_through_a_parser() -> None:
    """Text and attribute values with markup, quotes and tabs read back exactly as given."""
    hostile = 'a & b <c> "d" \t ]]> </x>'
    element = ET.fromstring(f'<x v="{xml_attribute(hostile)}">{xml_text(hostile)}</x>')
    assert element.get("v") == hostile and element.text == hostile


# --- Markdown -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a | b",
        "</td></tr></table>",
        "`tick` | ``double``",
        "line\nbreak | in\r\na cell",
        "\\| escaped pipe",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
    ],
)
def test_md_inline_keeps_a_table_cell_whole(text: str) -> None:
    """Pipes, backticks, HTML and line breaks in data stay inside their one table cell."""
    rows = _table(md_inline(text))
    assert len(rows) == 2 and len(rows[1]) == 2 and rows[1][1] == "end"
    assert rows[1][0] == " ".join(text.split())


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("**bold** _em_ ~~strike~~", "**bold** _em_ ~~strike~~"),
        ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
        ("![img](javascript:alert(1))", "![img](javascript:alert(1))"),
        ("# heading", "# heading"),
        ("- item", "- item"),
        ("1. item", "1. item"),
        ("> quote", "> quote"),
        ("&amp; &lt;b&gt;", "&amp; &lt;b&gt;"),
        ("$x^2$", "$x^2$"),
        ("a\\b", "a\\b"),
    ],
)
def test_md_inline_shows_markdown_syntax_as_text(text: str, shown: str) -> None:
    """Markdown and entities in data are displayed literally instead of formatting or linking."""
    html = render_markdown(md_inline(text) + "\n", unsafe=True)
    parsed = assert_only_our_html(html)
    assert [tag for tag, _ in parsed.tags] == ["p"]
    assert html.strip() == f"<p>{_escaped(shown)}</p>"


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def test_md_inline_drops_controls_and_bidi_overrides() -> None:
    """Control characters, lone surrogates and right-to-left overrides cannot reach the summary."""
    assert md_inline("a\x00b\x1b[31mc\u202ed\u2066e\ud800f") == "ab\\[31mcdef"


def test_md_block_quotes_every_line_and_keeps_breaks() -> None:
    """A multi-line agent result renders as one quote with its line breaks, and cannot end the quote."""
    html = render_markdown(md_block("first\n# not a heading\n\n</blockquote><script>x</script>\n- not a list"), unsafe=True)
    parsed = assert_only_our_html(html)
    tags = [tag for tag, _ in parsed.tags]
    assert tags.count("blockquote") == 1 and "h1" not in tags and "ul" not in tags
    assert "first<br />\n# not a heading" in html
    assert "&lt;/blockquote&gt;&lt;script&gt;" in html


def test_md_block_of_empty_text_is_still_a_quote() -> None:
    """An empty result renders as a visible placeholder, not as nothing."""
    assert md_block(" \n\n ") == "> (empty)"


def test_html_text_is_inert_inside_raw_html() -> None:
    """Text placed inside our own <summary> cannot add tags or end the element."""
    inside = html_text("</summary><img src=x onerror=y>\nnext")
    html = render_markdown(f"<details>\n<summary>{inside}</summary>\n\n</details>\n", unsafe=True)
    parsed = assert_only_our_html(html)
    assert [tag for tag, _ in parsed.tags] == ["details", "summary"]


# --- links ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>", "vbscript:x", "file:///etc/passwd",
     "//evil.example/x", "https://", "http:///path", "ftp://example.com/x", "", None, "https://[broken/x"],
)
def test_safe_link_refuses_anything_but_http_urls(url: str | None) -> None:
    """Only http(s) URLs with a host may become links or images."""
    assert safe_link(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a b(c)|d`e'f\"g<h>",
        "https://example.com/x?a=1&b=2",
        "HTTPS://example.com/ü/🧨",
        "https://example.com/a) ![x](javascript:alert(1)",
    ],
)
def test_safe_link_cannot_end_the_link_or_the_table(url: str) -> None:
    """A hostile http URL stays one link in one table cell, pointing at the same address."""
    link = safe_link(url)
    assert link is not None
    rows = _table(f"[open]({link})")
    assert rows[1] == ["open", "end"]
    html = render_markdown(f"[open]({link})\n", unsafe=True)
    anchors = [attrs for tag, attrs in assert_only_our_html(html).tags if tag == "a"]
    assert len(anchors) == 1
    from urllib.parse import unquote

    assert unquote(anchors[0]["href"] or "") == url.strip()


def test_safe_link_keeps_ordinary_urls_readable() -> None:
    """Plain URLs are left as they are, apart from "&", which Markdown needs as an entity."""
    assert safe_link(" https://app.docketqa.com/dashboard/grouprun/35 ") == "https://app.docketqa.com/dashboard/grouprun/35"
    assert safe_link("https://x.example/v.webm?a=1&b=%20") == "https://x.example/v.webm?a=1&amp;b=%20"


# --- small helpers --------------------------------------------------------------------------------------


def test_truncate_marks_the_cut_and_respects_the_limit() -> None:
    """Shortened text ends with a marker and is never longer than asked; short text is untouched."""
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdefgh", 6) == "abcde…"
    assert truncate("abcdefghij", 8, marker="[cut]") == "abc[cut]"
    assert len(truncate("x" * 100, 10, marker="[cut]")) == 10


def test_truncate_can_trim_the_space_left_at_the_cut() -> None:
    """With trim, a cut after a space reads "two…", as one-line excerpts of API bodies always have."""
    assert truncate("two words", 5) == "two …"
    assert truncate("two words", 5, trim=True) == "two…"
    assert truncate("two", 5, trim=True) == "two"


def test_quote_value_escapes_and_cuts_a_user_value() -> None:
    """A value in an error message is one visible literal, never a line break, and long ones are cut."""
    assert quote_value("5x\n", limit=40) == "'5x\\n'"
    assert quote_value("ab\ncd", limit=40) == "'ab\\ncd'"
    assert quote_value("x" * 50, limit=40) == repr("x" * 40 + "...")


def test_unicode_safe_makes_text_encodable() -> None:
    """Lone surrogates from JSON ("\\ud800") become U+FFFD so the report can be written as UTF-8."""
    assert unicode_safe("a\ud800b\udfffc 🧨").encode("utf-8") == "a\ufffdb\ufffdc 🧨".encode()


def test_one_line_joins_lines_with_single_spaces() -> None:
    assert one_line("  a \r\n  b\rc\n\n d  ") == "a b c d"


# --- workflow commands (actions/toolkit command.ts escapeData / escapeProperty) ------------------------


def test_escape_command_data_matches_the_runner_rules() -> None:
    """Data: "%" first, then CR and LF; colons and commas stay (they are safe after the "::")."""
    assert escape_command_data("50% done\r\n::error::x, y") == "50%25 done%0D%0A::error::x, y"


def test_escape_command_property_also_escapes_colon_and_comma() -> None:
    """Properties: also ":" and "," so a title cannot add properties or end the property list."""
    assert escape_command_property("Login: a,b%\n") == "Login%3A a%2Cb%25%0A"


def test_escaped_command_text_cannot_start_a_new_command() -> None:
    """After escaping, a hostile multi-line message has no line break left to start "::" on."""
    hostile = "ok\n::add-mask::x\r::set-output name=a::b\r\n::stop-commands::t"
    assert "\n" not in escape_command_data(hostile) and "\r" not in escape_command_data(hostile)
    assert "\n" not in escape_command_property(hostile) and ":" not in escape_command_property(hostile)
