"""LaTeX in titles and abstracts as readable plain text, for places that cannot show MathML.

Atom titles, mail subjects and text parts, a page's ``<title>``, button labels and ``aria-label``
attributes are text: ``G$^{2}$D`` there reads ``G²D``, ``$O(n\\log n)$`` reads ``O(n log n)``,
``$\\ell_0$`` reads ``ℓ₀``. Greek letters and common symbols become their Unicode characters,
superscripts and subscripts their Unicode forms where every character has one (else ``^(...)``),
font commands (``\\textit``, ``\\mathcal``, ...) their content; outside math the text escapes
(``\\&``) and ``\\emph{...}`` are undone. Pure, never raises; unknown commands show their name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from dailypapers.rendering.math import MATH_RE

GREEK = {
    name: chr(code)
    for name, code in zip(
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
        "sigma tau upsilon phi chi psi omega".split(),
        [*range(0x3B1, 0x3C2), *range(0x3C3, 0x3CA)],
        strict=True,
    )
}
GREEK.update(
    {
        name.capitalize(): chr(code)
        for name, code in zip(
            "gamma delta theta lambda xi pi sigma upsilon phi psi omega".split(),
            [0x393, 0x394, 0x398, 0x39B, 0x39E, 0x3A0, 0x3A3, 0x3A5, 0x3A6, 0x3A8, 0x3A9],
            strict=True,
        )
    }
)
GREEK.update(varepsilon="ε", vartheta="ϑ", varphi="φ", varpi="ϖ", varrho="ϱ", varsigma="ς")
SYMBOLS = {
    "ell": "ℓ", "infty": "∞", "times": "×", "cdot": "·", "cdots": "⋯", "ldots": "…",
    "dots": "…", "pm": "±", "mp": "∓", "div": "÷", "leq": "≤", "le": "≤", "geq": "≥",
    "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "~", "simeq": "≃", "equiv": "≡",
    "propto": "∝", "ll": "≪", "gg": "≫", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "leftrightarrow": "↔", "Leftrightarrow": "⇔",
    "mapsto": "↦", "uparrow": "↑", "downarrow": "↓", "in": "∈", "notin": "∉", "ni": "∋",
    "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "supseteq": "⊇", "cup": "∪", "cap": "∩",
    "setminus": "∖", "emptyset": "∅", "varnothing": "∅", "forall": "∀", "exists": "∃",
    "neg": "¬", "wedge": "∧", "land": "∧", "vee": "∨", "lor": "∨", "oplus": "⊕",
    "otimes": "⊗", "odot": "⊙", "circ": "∘", "star": "⋆", "ast": "*", "bullet": "•",
    "dagger": "†", "prime": "′", "partial": "∂", "nabla": "∇", "sum": "∑", "prod": "∏",
    "int": "∫", "oint": "∮", "sqrt": "√", "langle": "⟨", "rangle": "⟩", "lfloor": "⌊",
    "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "mid": "|", "vert": "|", "Vert": "‖",
    "perp": "⊥", "parallel": "∥", "angle": "∠", "triangle": "△", "hbar": "ℏ", "aleph": "ℵ",
    "Re": "ℜ", "Im": "ℑ", "wp": "℘", "top": "⊤", "bot": "⊥", "models": "⊨", "vdash": "⊢",
    "checkmark": "✓", "S": "§", "deg": "°", "colon": ":", "lbrace": "{", "rbrace": "}",
}  # fmt: skip
OPERATORS = frozenset(
    "log ln lg exp sin cos tan sinh cosh tanh arcsin arccos arctan max min arg argmax argmin "
    "lim limsup liminf sup inf det dim ker Pr mod gcd tr rank softmax".split()
)
RELATIONS = frozenset(
    "leq le geq ge neq ne approx sim simeq equiv propto ll gg to rightarrow leftarrow Rightarrow "
    "Leftarrow leftrightarrow Leftrightarrow mapsto in notin ni subset subseteq supset supseteq "
    "models vdash".split()
)  # spaced in text: "X ~ LL(α, β)", "Claim → Evidence"
SPACES = {",": " ", ";": " ", ":": " ", " ": " ", "quad": " ", "qquad": " ", "!": ""}
ESCAPED = set("{}$&%#_|")
DROPPED = frozenset(
    "left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr middle displaystyle "
    "textstyle scriptstyle limits nolimits".split()
)
FONTS = frozenset(
    "mathrm mathit mathbf mathsf mathtt mathcal mathscr mathfrak boldsymbol bm pmb operatorname "
    "mathnormal text textit textbf texttt textrm textsf textsc textnormal textup emph mbox hbox "
    "underline overline underbrace overbrace".split()
)
ACCENTS = {
    "tilde": "\u0303", "widetilde": "\u0303", "hat": "\u0302", "widehat": "\u0302",
    "bar": "\u0304", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308", "acute": "\u0301",
    "grave": "\u0300", "breve": "\u0306", "check": "\u030c",
}  # fmt: skip
DOUBLE_STRUCK = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "P": "ℙ", "E": "𝔼", "1": "𝟙"}
SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW*′αβγδεθιφχ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ*′ᵅᵝᵞᵟᵋᶿᶥᵠᵡ",
        strict=True,
    )
)
SUBSCRIPTS = dict(
    zip(
        "0123456789+-=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)
TEXT_SYMBOLS = {
    "eg": "e.g.", "ie": "i.e.", "etc": "etc.", "etal": "et al.", "L": "Ł", "l": "ł", "o": "ø",
    "O": "Ø", "ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å",
    "textasciitilde": "~", "textbackslash": "\\", "textendash": "–", "textemdash": "—",
    "dots": "…", "ldots": "…", "deg": "°", "textdegree": "°", "LaTeX": "LaTeX", "TeX": "TeX",
}  # fmt: skip
TEXT_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328",
}  # fmt: skip
SWITCHES = frozenset("it em bf rm tt sc sl sf small large Large normalsize footnotesize".split())
UNSEEN = frozenset("cite citep citet citealp ref eqref label footnote color".split())
_SPAN = re.compile(
    MATH_RE.pattern + r"|(?<!\\)\\\((.+?)\\\)|(?<!\\)\\\[(.+?)\\\]", re.DOTALL
)  # $...$, $$...$$, \(...\), \[...\]


def _script(text: str, table: dict[str, str], mark: str) -> str:
    if text and all(ch in table for ch in text):
        return "".join(table[ch] for ch in text)
    if len(text) == 1 or text.isalnum():
        return mark + text
    return f"{mark}({text})"


def _wrap(text: str) -> str:
    return text if len(text) <= 1 or text.isalnum() else f"({text})"


class _Reader:
    """Reads LaTeX left to right into text; never raises on bad input, it just reads on.

    In math, spaces are dropped (LaTeX places them) and ``^`` / ``_`` make scripts; in text
    (``text_mode``), spaces, ``^``, ``_`` and ``~`` stay as typed, braces group only around a
    command (``{\\em x}``), and text commands (accents, ``\\href``, ``\\cite``) are understood.
    """

    def __init__(self, source: str, *, text_mode: bool = False) -> None:
        self.s = source
        self.i = 0
        self.text_mode = text_mode

    def read(self, until: str = "") -> str:
        out: list[str] = []
        while self.i < len(self.s) and self.s[self.i] != until:
            out.append(self.token())
        self.i += 1  # past the closing brace (or the end)
        return "".join(out)

    def argument(self) -> str:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1
        if self.i >= len(self.s):
            return ""
        if self.s[self.i] == "{":
            self.i += 1
            return self.read("}")
        return self.token(bare=True)

    def raw_argument(self) -> str:
        """A braced argument as written (a URL, a colour name)."""
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1
        if not self.s.startswith("{", self.i):
            return ""
        end = self.s.find("}", self.i)
        end = len(self.s) if end < 0 else end
        inner, self.i = self.s[self.i + 1 : end], end + 1
        return inner

    def token(self, *, bare: bool = False) -> str:
        ch = self.s[self.i]
        self.i += 1
        if self.text_mode:
            if ch == "{" and self.s.startswith("\\", self.i):
                return self.read("}")
            return self.command() if ch == "\\" else ch
        if ch == "{":
            return self.read("}")
        if ch == "\\":
            return self.command()
        if ch.isspace():
            return ""  # spaces in math are LaTeX's to place
        if ch in "^_" and not bare:
            return _script(
                self.argument(), *(SUPERSCRIPTS, "^") if ch == "^" else (SUBSCRIPTS, "_")
            )
        if ch == "~":
            return " "
        return "" if ch == "}" else ch

    def command(self) -> str:
        match = re.match(r"[A-Za-z]+", self.s[self.i :])
        if not match:  # \{ \, \! \\ \' ...
            ch = self.s[self.i : self.i + 1]
            self.i += 1
            if self.text_mode and ch in TEXT_ACCENTS:
                return self.accented(ch)
            return SPACES.get(ch, "‖" if ch == "|" else ch if ch in ESCAPED else " ")
        name = match.group()
        self.i += len(name)
        if self.text_mode and name in TEXT_ACCENTS:
            return self.accented(name)
        if name in GREEK:
            return GREEK[name]
        if self.text_mode:
            return self.text_command(name)
        return self.math_command(name)

    def accented(self, accent: str) -> str:
        base = self.argument()
        return unicodedata.normalize("NFC", base[:1] + TEXT_ACCENTS[accent] + base[1:])

    def text_command(self, name: str) -> str:
        if name in TEXT_SYMBOLS:
            return TEXT_SYMBOLS[name]
        if name in SWITCHES:
            return ""
        if name in UNSEEN:
            self.raw_argument()
            return ""
        if name == "href":
            self.raw_argument()
            return self.argument()
        if name in ("url", "textcolor"):
            url_or_colour = self.raw_argument()
            return url_or_colour if name == "url" else self.argument()
        if name in ("textsuperscript", "textsubscript"):
            up = name == "textsuperscript"
            text = self.argument()
            return _script(text, *(SUPERSCRIPTS, "^") if up else (SUBSCRIPTS, "_"))
        if name in FONTS:
            return self.argument()
        if name in SYMBOLS:
            return SYMBOLS[name]
        return name  # a macro of the authors' own (\\name, \\ours): its name reads best

    def math_command(self, name: str) -> str:
        if name in SYMBOLS:
            if name == "sqrt":
                return self.root()
            return f" {SYMBOLS[name]} " if name in RELATIONS else SYMBOLS[name]
        if name in OPERATORS:
            return f" {name} "
        if name in SPACES:
            return SPACES[name]
        if name in DROPPED:
            return ""
        if name in FONTS:
            if name.startswith("text") or name in ("emph", "mbox", "hbox"):
                inner = _Reader(self.raw_argument() or self.argument(), text_mode=True).read()
                return inner.replace(" ", "\x00")  # kept through the math's space clean-up
            return self.argument()
        if name == "mathbb":
            return "".join(DOUBLE_STRUCK.get(ch, ch) for ch in self.argument())
        if name in ACCENTS:
            base = self.argument()
            return base + ACCENTS[name] if len(base) == 1 else base
        if name in ("frac", "dfrac", "tfrac"):
            top, bottom = self.argument(), self.argument()
            return f"{_wrap(top)}/{_wrap(bottom)}"
        return name

    def root(self) -> str:
        if self.s.startswith("[", self.i):  # \sqrt[n]{x}
            end = self.s.find("]", self.i)
            self.i = end + 1 if end > 0 else len(self.s)
        return "√" + _wrap(self.argument())


def _math_to_text(latex: str) -> str:
    words = " ".join(_Reader(latex).read().split())
    words = re.sub(r"([(\[{]) | ([)\]}])", r"\1\2", words)
    words = re.sub(r"([,;])(?=[^\s\d])", r"\1 ", words)  # as LaTeX spaces them
    return words.replace("\x00", " ")


def _plain_text(text: str) -> str:
    """Text outside math: commands and escapes, dashes and quotes."""
    if "\\" in text:
        text = _Reader(text, text_mode=True).read()
    text = text.replace(" --- ", " — ").replace(" -- ", " – ")
    return text.replace("``", "“").replace("''", "”")


@lru_cache(maxsize=4096)
def latex_to_text(text: str) -> str:
    """``text`` with its math (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``) and LaTeX
    commands as readable plain text."""
    if "$" not in text and "\\" not in text and "--" not in text and "``" not in text:
        return text
    parts: list[str] = []
    position = 0
    for match in _SPAN.finditer(text):
        parts.append(_plain_text(text[position : match.start()]))
        latex = next(group for group in match.groups() if group is not None)
        parts.append(_math_to_text(latex))
        position = match.end()
    parts.append(_plain_text(text[position:]))
    return unicodedata.normalize("NFC", "".join(parts))  # a + combining macron: ā
