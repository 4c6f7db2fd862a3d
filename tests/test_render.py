from markupsafe import Markup

from dailypapers.web.filters import (
    authors_short,
    latex_to_mathml,
    render_marks,
    render_math,
    shorten,
)


def test_math_becomes_mathml_and_text_is_escaped() -> None:
    html = str(render_math(r"We bound $x^2 < y$ & show <b>it</b>"))
    assert "<math" in html and "<msup><mi>x</mi><mn>2</mn></msup>" in html
    assert "&amp; show &lt;b&gt;it&lt;/b&gt;" in html


def test_math_cannot_smuggle_markup() -> None:
    html = str(
        render_math(
            r"$\text{<script>alert(1)</script>}$ and $\mathrm{<img src=x onerror=alert(1)>}$"
        )
    )
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_malformed_math_falls_back_to_escaped_source() -> None:
    assert latex_to_mathml(r"\frac{1}{") is None
    assert str(render_math(r"cost $\frac{1}{$ here")) == r"cost $\frac{1}{$ here"


def test_display_math_and_escaped_dollars() -> None:
    assert 'display="block"' in str(render_math(r"$$\sum_i a_i$$"))
    assert "<math" not in str(render_math(r"costs \$5 and \$6"))


def test_memoised_math_keeps_plain_text_and_markup_apart() -> None:
    """Markup("<i>x</i>") == "<i>x</i>", but only the plain text may be escaped: cached results
    must never leak from one to the other, whichever comes first."""
    for first, second in [
        ("<i>a $x$</i>", Markup("<i>a $x$</i>")),
        (Markup("<u>b</u>"), "<u>b</u>"),
    ]:
        results = {type(v): str(render_math(v)) for v in (first, second)}
        assert results[str].startswith("&lt;")
        assert results[Markup].startswith("<")
        assert str(render_math(str(first))) == results[str]  # cached: the same answer again


def test_marks_are_escaped_then_highlighted() -> None:
    assert str(render_marks("a \x02<b>\x03 c")) == "a <mark>&lt;b&gt;</mark> c"


def test_shorten_never_cuts_inside_math() -> None:
    text = "word " * 50 + "$a + b + c + d$ tail"
    short = shorten(text, limit=262)
    assert short.endswith(" …") and short.count("$") % 2 == 0


def test_authors_short() -> None:
    assert authors_short(["A", "B"]) == "A, B"
    assert authors_short([f"N{i}" for i in range(16)]) == "N0, N1, N2 … 16 authors"
