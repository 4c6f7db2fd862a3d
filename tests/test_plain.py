"""``rendering/plain.py``: LaTeX as readable text, for Atom titles, mails, ``<title>`` and labels.

The cases are real titles from the bundled sample (``grep '\\$'`` in it), checked to be there."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from dailypapers.rendering.plain import latex_to_text
from dailypapers.services.sample import sample_files


def sample_texts() -> dict[str, str]:
    """arXiv id -> title, and id + "/abstract" -> abstract, for every paper of the sample."""
    texts: dict[str, str] = {}
    for path in sample_files():
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                paper = json.loads(line)
                texts[paper["id"]] = " ".join(paper["title"].split())
                texts[paper["id"] + "/abstract"] = paper["summary"]
    return texts


SAMPLE = sample_texts()

TITLES = [
    (
        "G$^{2}$D: Boosting Multimodal Learning with Gradient-Guided Distillation",
        "G²D: Boosting Multimodal Learning with Gradient-Guided Distillation",
    ),
    (
        "Radial Attention: $O(n\\log n)$ Sparse Attention with Energy Decay for Long Video "
        "Generation",
        "Radial Attention: O(n log n) Sparse Attention with Energy Decay for Long Video Generation",
    ),
    (
        "CaO$_2$: Rectifying Inconsistencies in Diffusion-Based Dataset Distillation",
        "CaO₂: Rectifying Inconsistencies in Diffusion-Based Dataset Distillation",
    ),
    (
        "Releasing Inequality Phenomenon in $\\ell_{\\infty}$-norm Adversarial Training via "
        "Input Gradient Distillation",
        "Releasing Inequality Phenomenon in ℓ_∞-norm Adversarial Training via Input Gradient "
        "Distillation",
    ),
    (
        "RCNet: $ΔΣ$ IADCs as Recurrent AutoEncoders",
        "RCNet: ΔΣ IADCs as Recurrent AutoEncoders",
    ),
    (
        "Tutorial: $\\varphi$-Transductions in OpenFst via the Gallic Semiring",
        "Tutorial: φ-Transductions in OpenFst via the Gallic Semiring",
    ),
    (
        "$\\texttt{SPECS}$: Faster Test-Time Scaling through Speculative Drafts",
        "SPECS: Faster Test-Time Scaling through Speculative Drafts",
    ),
    (
        "PiCo: Jailbreaking Multimodal Large Language Models via $\\textbf{Pi}$ctorial "
        "$\\textbf{Co}$de Contextualization",
        "PiCo: Jailbreaking Multimodal Large Language Models via Pictorial Code Contextualization",
    ),
    (
        "Meta-learning-based percussion transcription and $t\\bar{a}la$ identification from "
        "low-resource audio",
        "Meta-learning-based percussion transcription and tāla identification from "
        "low-resource audio",
    ),
    (
        "A robust and versatile deep learning model for prediction of the arterial input "
        "function in dynamic small animal $\\left[^{18}\\text{F}\\right]$FDG PET imaging",
        "A robust and versatile deep learning model for prediction of the arterial input "
        "function in dynamic small animal [¹⁸F]FDG PET imaging",
    ),
    (
        "Phase retrieval with rank $d$ measurements -- \\emph{descending} algorithms phase "
        "transitions",
        "Phase retrieval with rank d measurements – descending algorithms phase transitions",
    ),
    (
        "Detect \\& Score: Privacy-Preserving Misbehaviour Detection and Contribution "
        "Evaluation in Federated Learning",
        "Detect & Score: Privacy-Preserving Misbehaviour Detection and Contribution Evaluation "
        "in Federated Learning",
    ),
    (
        "$φ^{\\infty}$: Clause Purification, Embedding Realignment, and the Total Suppression "
        "of the Em Dash in Autoregressive Language Models",
        "φ^∞: Clause Purification, Embedding Realignment, and the Total Suppression of the Em "
        "Dash in Autoregressive Language Models",
    ),
    (
        "FaSTA$^*$: Fast-Slow Toolpath Agent with Subroutine Mining for Efficient Multi-turn "
        "Image Editing",
        "FaSTA*: Fast-Slow Toolpath Agent with Subroutine Mining for Efficient Multi-turn Image "
        "Editing",
    ),
]


@pytest.mark.parametrize(("title", "readable"), TITLES, ids=[t[:24] for t, _ in TITLES])
def test_real_titles_read_as_text(title: str, readable: str) -> None:
    assert title in SAMPLE.values(), "no longer a title of the sample"
    assert latex_to_text(title) == readable


@pytest.mark.parametrize(
    ("latex", "readable"),
    [
        ("$O(T)$", "O(T)"),
        ("Claim $\\rightarrow$ Evidence", "Claim → Evidence"),
        ("$\\frac{1}{2}$, $\\sqrt{n}$, $\\mathbb{R}^d$", "1/2, √n, ℝᵈ"),
        ("$\\tilde{\\mathcal{O}}(\\epsilon^{-4/7})$", "Õ(ε^(-4/7))"),
        ("up to 20$^{th}$ century", "up to 20ᵗʰ century"),
        ("where \\( X \\sim LL(\\alpha, \\beta) \\)", "where X ~ LL(α, β)"),
        (
            "Anota\\c{c}\\~oes hist\\'oricas, \\v{S}tefankovi\\v{c}",
            "Anotações históricas, Štefankovič",
        ),
        (
            "see \\href{https://x.org/a_b}{our code} or \\url{https://x.org/a_b}",
            "see our code or https://x.org/a_b",
        ),
        ("a $5 budget and a \\$6 one", "a $5 budget and a $6 one"),  # one dollar is no math
        ("Plain title, untouched: x_1 ^ 2 -- no", "Plain title, untouched: x_1 ^ 2 – no"),
    ],
)
def test_formulas_symbols_and_text_commands(latex: str, readable: str) -> None:
    assert latex_to_text(latex) == readable


@pytest.mark.parametrize(
    "text", ["$", "$$", "\\", "{", "$x^{2$ y", "$\\frac{1}$", "\\sqrt[3", "$_$"]
)
def test_broken_latex_never_raises(text: str) -> None:
    assert isinstance(latex_to_text(text), str)


def test_no_sample_title_keeps_latex() -> None:
    left = re.compile(r"\\[A-Za-z]+|\^\{|_\{|(?<!\\)\$[^$]+\$")
    titles = [
        text for key, text in SAMPLE.items() if "/" not in key and ("$" in text or "\\" in text)
    ]
    assert len(titles) >= 20
    kept = [latex_to_text(title) for title in titles if left.search(latex_to_text(title))]
    assert kept == []
