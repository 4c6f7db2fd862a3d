"""LaTeX math to whitelisted MathML (``dailypapers.rendering.math``), tested on its own: what the
paper pages, the feeds and comments all show for ``$...$`` and ``$$...$$`` in untrusted text.
(``test_render.py`` covers the same functions through the web filters' re-exports.)"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from dailypapers.rendering.math import (
    MATHML_ATTRIBUTES,
    MATHML_ELEMENTS,
    MAX_MATH_LENGTH,
    latex_to_mathml,
    render_math,
)


class _Tags(HTMLParser):
    """Every element and attribute an HTML parser (as a browser) finds in a piece of output."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def assert_only_mathml(html: str) -> _Tags:
    """The output holds no element or attribute outside the MathML whitelist."""
    found = parsed(html)
    assert set(found.tags) <= MATHML_ELEMENTS, found.tags
    names = {name for name, _ in found.attributes}
    assert names <= MATHML_ATTRIBUTES | {"xmlns"}, names
    for name, value in found.attributes:
        assert "javascript" not in value.lower() and "(" not in value, (name, value)
    return found


# --- inline and display math -------------------------------------------------------------------


def test_inline_math_becomes_mathml_between_escaped_text() -> None:
    html = str(render_math(r"Let $x^2 < y$ & <b>bold</b> hold"))
    assert html.startswith("Let <math ") and html.endswith(" &amp; &lt;b&gt;bold&lt;/b&gt; hold")
    assert 'display="inline"' in html and "<msup><mi>x</mi><mn>2</mn></msup>" in html
    assert "<mo>&lt;</mo>" in html  # the math's own "<" is text, not a tag
    found = assert_only_mathml(html)
    assert found.tags[0] == "math" and "b" not in found.tags


def test_display_math_is_a_block() -> None:
    html = str(render_math(r"Sum: $$\sum_i a_i$$ then $b$."))
    assert html.count("<math ") == 2
    assert html.index('display="block"') < html.index('display="inline"')
    assert "<munderover>" in html or "<munder>" in html


def test_adjacent_spans_each_convert() -> None:
    assert str(render_math("$x$$y$")).count('display="inline"') == 2


def test_latex_to_mathml_directly() -> None:
    inline = latex_to_mathml(r"\frac{a}{b}")
    assert inline is not None and "<mfrac>" in inline and 'display="inline"' in inline
    assert 'display="block"' in (latex_to_mathml("x", display=True) or "")
    assert latex_to_mathml(r"\frac{1}{") is None  # malformed: the caller shows the source


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a $x and b", "a $x and b"),  # a lone dollar is text
        ("$ $", "$ $"),  # empty math is text
        ("$$", "$$"),
        (r"price \$5 and \$6", r"price \$5 and \$6"),  # escaped dollars open nothing
        (r"cost $\frac{1}{$ here", r"cost $\frac{1}{$ here"),  # malformed math: its source
        ("<i>$\\frac{1}{$</i>", "&lt;i&gt;$\\frac{1}{$&lt;/i&gt;"),  # ... escaped
    ],
)
def test_text_without_renderable_math_is_escaped_source(text: str, expected: str) -> None:
    html = str(render_math(text))
    assert html == expected and "<math" not in html


def test_unbalanced_dollars_convert_the_pairs_and_keep_the_rest() -> None:
    html = str(render_math("$x$ and $y"))
    assert html.count("<math ") == 1 and html.endswith("</math> and $y")


def test_escaped_dollar_next_to_math() -> None:
    html = str(render_math(r"save \$5 on $n^2$"))
    assert html.startswith(r"save \$5 on <math ") and html.count("<math ") == 1
    inside = str(render_math(r"$a\$b$"))  # an escaped dollar does not close the span
    assert inside.count("<math ") == 1 and "<mi>b</mi>" in inside


def test_result_is_markup_and_markup_input_is_not_escaped_again() -> None:
    assert isinstance(render_math("a < b"), Markup)
    assert str(render_math(Markup("<em>kept</em> $x$"))).startswith("<em>kept</em> <math ")


# --- hostile input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        r"$\text{<script>alert(1)</script>}$",  # latex2mathml copies \text through as markup
        r"$\text{</mtext></math><svg onload=alert(1)>}$",
        r"$\href{javascript:alert(1)}{click}$",  # becomes an href attribute in latex2mathml
        r"$\mathrm{<img src=x onerror=alert(1)>}$",
        r"$x$<img src=x onerror=alert(1)>$y$",
        r"$$</math><script>alert(1)</script>$$",
        r"$\style{background:url(javascript:alert(1))}{x}$",
        r"$\color{javascript:alert(1)}x$",
        r'$\mathrm{"onclick="alert(1)}$',
        r"$\text{&lt;script&gt;alert(1)&lt;/script&gt;}$",
    ],
)
def test_hostile_input_never_comes_out_as_markup(text: str) -> None:
    html = str(render_math(text))
    found = assert_only_mathml(html)
    assert "script" not in found.tags and "img" not in found.tags and "svg" not in found.tags
    assert "href" not in html


def test_hostile_text_in_math_stays_readable_as_text() -> None:
    """Whatever is dropped, the reader still sees the characters that were typed."""
    html = str(render_math(r"$\text{<script>alert(1)</script>}$"))
    assert "&lt;script&gt;" in html and "<script" not in html
    click = parsed(str(render_math(r"$\href{javascript:alert(1)}{click}$")))
    assert "".join(click.text) == "click"


# --- bounds -----------------------------------------------------------------------------------


def test_math_longer_than_the_limit_is_shown_as_source() -> None:
    at_limit = "x" * MAX_MATH_LENGTH
    assert latex_to_mathml(at_limit) is not None
    over = at_limit + "y"
    assert latex_to_mathml(over) is None
    assert str(render_math(f"big ${over}$ end")) == f"big ${over}$ end"


def test_huge_input_is_bounded_by_its_spans() -> None:
    """A megabyte of text with an unclosed dollar and thousands of spans comes out as escaped
    text plus one bounded MathML element per span, never more."""
    spans = 2_000
    text = "".join(f"a<{n} ${n}$ " for n in range(spans)) + "$ " + "tail " * 200_000
    html = str(render_math(text))
    assert html.count("<math ") == spans
    assert html.endswith("$ " + "tail " * 200_000)
    assert html.count("&lt;") == spans and "<" + "0 " not in html
    deep = "$" + "{" * 240 + "x" + "}" * 240 + "$"  # deep nesting within the length limit
    assert_only_mathml(str(render_math(deep)))
