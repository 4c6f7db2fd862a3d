"""Words of English scientific text: tokens, stop words, and the words that carry content."""

from __future__ import annotations

import re

STOP_WORDS = frozenset(
    """a about above across after again against all almost along also although always am among an
    and another any are around as at be became because been before being below between both but by
    can cannot could did do does doing done down during each either else enough especially even
    ever every few for from further had has have having he her here hers him his how however i if
    in into is it its itself just least less let like made make makes many may me might more most
    much must my neither no nor not now of off often on once one only onto or other others our ours
    out over own per rather same several she should since so some such than that the their theirs
    them themselves then there thereby therefore these they this those though through thus to too
    toward towards under until up upon us use used uses using very via was we well were what when
    where whether which while who whom whose why will with within without would yet you your
    able across based can new novel propose proposed proposes present presents presented introduce
    introduces introduced show shows shown demonstrate demonstrates demonstrated achieve achieves
    achieved achieving enable enables enabling provide provides provided study studies paper work
    approach approaches method methods result results task tasks problem problems performance
    framework existing different various significant significantly effective effectively
    efficient efficiently first second third two three four five key main large small high low
    better best improved improve improves improving state art many however recent recently
    given allow allows particular specific specifically important including include includes
    across well often leading lead leads due via toward whereas e.g i.e etc et al.""".split()
)
_VERBS = """accelerate account address adjust aim align allow alleviate analyze apply assess assign
    attain augment avoid balance benefit boost bridge build capture challenge choose claim combine
    compare complement comprise compute conduct consider constrain construct contain contribute
    convert cover create curate decide decline decompose define degrade deliver demand depend derive
    describe design detect determine develop discover discuss distill drive eliminate emerge employ
    encode encompass enforce enhance ensure establish estimate evaluate examine exceed exhibit exist
    expand explain exploit explore expose extend extract face facilitate fail feature feed fill find
    focus follow force form formulate gain generalize generate guide handle harness help hinder hold
    identify illustrate impose incorporate increase incur indicate inform inspire integrate interpret
    investigate involve isolate keep learn leverage limit maintain manipulate map match measure meet
    minimize mitigate motivate necessitate need obtain observe offer operate optimize outperform
    overcome parse perform pose position predict preserve prevent process produce prove push
    quantify raise reach receive recover reduce refine reflect reframe relate rely remain remove
    replace report represent require resolve restore retain reveal save scale select serve simulate
    solve span suffer suggest support surpass synthesize target test train transfer treat underscore
    unify uncover unlock utilize validate verify yield""".split()


def _forms(verb: str) -> set[str]:
    stem = verb[:-1] if verb.endswith("e") else verb
    plural = verb + ("es" if verb.endswith(("s", "sh", "ch", "x")) else "s")
    if verb.endswith("y") and verb[-2] not in "aeiou":
        plural, past = verb[:-1] + "ies", verb[:-1] + "ied"
    else:
        past = stem + "ed"
    return {verb, plural, past}


VERB_FORMS = frozenset(form for verb in _VERBS for form in _forms(verb))
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")


def tokens(text: str) -> list[str]:
    """Words (letters first, inner hyphens and digits kept: ``GPT-4``, ``3D`` is dropped)."""
    return _TOKEN.findall(text)


def content_words(text: str) -> list[str]:
    """Lower-case words of ``text`` that are not stop words and are longer than two letters."""
    return [w for w in (t.lower() for t in tokens(text)) if len(w) > 2 and w not in STOP_WORDS]
