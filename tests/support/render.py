"""Checks shared by the renderer tests: JUnit schema validation and counts, Markdown rendered as GitHub does."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from tests.support.paths import JUNIT_SCHEMA

SCHEMA = JUNIT_SCHEMA

#: Every tag the summary may produce once rendered; anything else came from the data.
SUMMARY_TAGS = frozenset(
    {"h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "a", "img", "details", "summary",
     "b", "strong", "ul", "li", "blockquote", "br"}
)
#: And the only attributes: links and images (checked to be http(s)), and <details open>.
SUMMARY_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}, "details": {"open"}}
#: Links we write are http(s) only. GFM (like GitHub everywhere) also autolinks plain e-mail addresses such
#: as "user@example.com" in a task, as mailto:/xmpp: links: they cannot run anything, so they are allowed.
LINK_SCHEMES = ("https://", "http://", "mailto:", "xmpp:")


@functools.lru_cache(maxsize=1)
def junit_schema() -> Any:
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMA))


def assert_valid_junit(xml: str) -> None:
    """Valid against the Jenkins xUnit schema (the strictest real consumer)."""
    errors = [str(e).splitlines()[0] for e in junit_schema().iter_errors(xml)]
    assert not errors, errors[:3]


@dataclass(frozen=True)
class SuiteCounts:
    name: str
    tests: int
    failures: int
    errors: int
    skipped: int


def junit_counts(xml: str) -> tuple[dict[str, int], list[SuiteCounts]]:
    """What junitparser (a real consumer) reads: the totals attributes and each suite's counted cases."""
    from junitparser import Error, Failure, JUnitXml, Skipped

    root = JUnitXml.fromstring(xml.encode("utf-8"))  # bytes: lxml, when installed, refuses a str with an XML declaration
    totals = {"tests": root.tests, "failures": root.failures, "errors": root.errors}
    suites = []
    for suite in root:
        kinds = [type(r) for case in suite for r in case.result]
        suites.append(
            SuiteCounts(suite.name, len(list(suite)), kinds.count(Failure), kinds.count(Error), kinds.count(Skipped))
        )
        declared = (suite.tests, suite.failures, suite.errors, suite.skipped)
        assert declared == (suites[-1].tests, suites[-1].failures, suites[-1].errors, suites[-1].skipped), suite.name
    assert totals == {
        "tests": sum(s.tests for s in suites),
        "failures": sum(s.failures for s in suites),
        "errors": sum(s.errors for s in suites),
    }
    return totals, suites


def render_markdown(markdown: str, *, unsafe: bool = False) -> str:
    """HTML as cmark-gfm renders it; ``unsafe=True`` keeps raw HTML so tests can see what would get through."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE if unsafe else 0)


@dataclass
class Html:
    """The parts of rendered HTML the tests look at."""

    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html = Html()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.html.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.html.tables.append([])
        elif tag == "tr" and self.html.tables:
            self.html.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.html.tables:
            self.html.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse_html(html: str) -> Html:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.html


def assert_only_our_html(html: str) -> Html:
    """Rendered with raw HTML allowed, the summary holds only our tags and attributes, and http(s) links."""
    parsed = parse_html(html)
    for tag, attrs in parsed.tags:
        assert tag in SUMMARY_TAGS, f"unexpected <{tag}> {attrs}"
        assert set(attrs) <= SUMMARY_ATTRIBUTES.get(tag, set()), f"unexpected attributes on <{tag}>: {attrs}"
        for name in ("href", "src"):
            if name in attrs:
                assert (attrs[name] or "").lower().startswith(LINK_SCHEMES), attrs
    return parsed
