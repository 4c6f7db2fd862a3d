"""``search_quality.py --steps``: fusion weights by the step the keyword half answered from, and by
the query's length.

The keyword half answers from the first step that matches (``search/fts.py``): papers with *all*
the query's words, else papers with any *two* of its rarest five, else papers with *any* one. A
paraphrase seldom has all its words in its paper, so its keyword ranking often comes from the
weaker steps, while the dense half is as good as ever. Here the keyword ranking's weight in the
fusion depends on its step — 1 for "all", ``a`` for "pairs", ``b`` for "any" — beside the dense
weight ``w`` and the RRF constant ``k``: chosen on the tune half of every kind of query at once
(the mean of the kinds' MRRs), measured on each kind's report half. Beside it, one dense weight
for every query, and one for queries of at most ``SHORT`` words and another for longer ones.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np
from sqlalchemy import Connection

from dailypapers.search import fts
from dailypapers.search.fts_query import Match
from dailypapers.search.hybrid import rrf_fuse

K_GRID = (5, 10, 20)
W_GRID = (1.0, 1.5, 2.0)
STEP_GRID = (0.25, 0.5, 0.75, 1.0)
STEPS = ("all", "pairs", "any", "none")
SHORT = 6  # words


def _kind(match: Match) -> str:
    if match.op == "and":
        return "all"
    return "pairs" if any(isinstance(p, Match) for p in match.parts) else "any"


def step_of(conn: Connection, query: str, column: Any) -> str:
    """Which step of the keyword plan answered ``query`` ("none": no step matched)."""
    answered: list[Match] = []
    real_engine, real_recent = fts.keyword_engine, fts._recent_ids

    class Watched:
        def __init__(self, engine: Any) -> None:
            self._engine = engine

        def __getattr__(self, name: str) -> Any:
            return getattr(self._engine, name)

        def ranked(self, conn: Connection, match: Match, *args: Any, **kwargs: Any) -> list[int]:
            ids: list[int] = self._engine.ranked(conn, match, *args, **kwargs)
            if ids:
                answered.append(match)
            return ids

    def recent(conn: Connection, engine: Any, match: Match, *args: Any, **kwargs: Any) -> Any:
        ids = real_recent(conn, engine, match, *args, **kwargs)
        if ids:
            answered.append(match)
        return ids

    fts.keyword_engine = lambda conn: Watched(real_engine(conn))
    fts._recent_ids = recent
    try:
        fts.keyword_ranking(conn, query, column=column)
    finally:
        fts.keyword_engine, fts._recent_ids = real_engine, real_recent
    return _kind(answered[0]) if answered else "none"


class StepLevers:
    """Collects each kind's rankings, then chooses and reports (``report``)."""

    def __init__(self) -> None:
        self.kinds: dict[str, tuple[list[int], list[list[int]], list[list[int]], list[str]]] = {}
        self.halves: dict[str, dict[str, list[int]]] = {}
        self.queries: dict[str, list[str]] = {}

    def add(
        self,
        conn: Connection,
        name: str,
        task: Any,
        keyword: list[list[int]],
        dense: list[list[int]],
        halves: dict[str, list[int]],
    ) -> None:
        steps = [step_of(conn, q, task.column) for q in task.queries]
        self.kinds[name] = (task.targets, keyword, dense, steps)
        self.halves[name] = halves
        self.queries[name] = task.queries

    def _mrr(self, name: str, half: str, setting: tuple[float, ...]) -> np.ndarray:
        """Reciprocal ranks under (k, w, pairs, any) or, with five values, (k, w for a short
        query, w for a long one, pairs, any)."""
        if len(setting) == 4:
            k, w, a, b = setting
            setting = (k, w, w, a, b)
        k, w_short, w_long, a, b = setting
        chosen = self.halves[name][half]
        weight = {"all": 1.0, "pairs": a, "any": b, "none": 1.0}
        targets, keyword, dense, steps = self.kinds[name]
        out = []
        for i in chosen:
            w = w_short if len(self.queries[name][i].split()) <= SHORT else w_long
            fused = rrf_fuse([keyword[i], dense[i]], k=int(k), weights=[weight[steps[i]], w])
            ids = [p for p, _ in fused]
            out.append(1 / (ids.index(targets[i]) + 1) if targets[i] in ids[:100] else 0.0)
        return np.array(out)

    def report(self) -> None:
        print("\nsteps: how each kind's keyword half answered (all / pairs / any / none):")
        for name, (_, _, _, steps) in self.kinds.items():
            print(f"  {name:9} " + " / ".join(f"{steps.count(s)}" for s in STEPS))
        grid = [(k, w, a, b) for k, w, a, b in product(K_GRID, W_GRID, STEP_GRID, STEP_GRID)]
        tune = {
            s: float(np.mean([self._mrr(n, "tune", s).mean() for n in self.kinds])) for s in grid
        }
        shipped = (5, 1.0, 1.0, 1.0)
        same = max((s for s in grid if s[2] == s[3] == 1.0), key=lambda s: tune[s])
        chosen = max(grid, key=lambda s: tune[s])
        lengths = [(k, ws, wl, 1.0, 1.0) for k, ws, wl in product(K_GRID, W_GRID, W_GRID)]
        tune |= {
            s: float(np.mean([self._mrr(n, "tune", s).mean() for n in self.kinds])) for s in lengths
        }
        by_length = max(lengths, key=lambda s: tune[s])
        print(
            f"tune half, mean MRR of the kinds: shipped {tune[shipped]:.3f}; best with one "
            f"keyword weight (k, w) = {same[:2]} {tune[same]:.3f}; best by step (k, w, pairs, any) "
            f"= {chosen} {tune[chosen]:.3f}; best by length (k, w short, w long) = "
            f"{by_length[:3]} {tune[by_length]:.3f}"
        )
        print("report half, MRR (hit@5), paired bootstrap 95% CI of the difference to shipped:")
        rng = np.random.default_rng(0)
        for name in self.kinds:
            base = self._mrr(name, "report", shipped)
            cells = []
            rows = (
                ("shipped", shipped),
                ("one weight", same),
                ("by step", chosen),
                ("by length", by_length),
            )
            for label, s in rows:
                mrr = self._mrr(name, "report", s)
                diff = mrr - base
                boot = diff[rng.integers(0, len(diff), (2000, len(diff)))].mean(axis=1)
                lo, hi = np.percentile(boot, [2.5, 97.5])
                hit5 = float(np.mean(mrr >= 0.2))
                cells.append(
                    f"{label} {mrr.mean():.3f} ({hit5:.3f})"
                    + ("" if label == "shipped" else f" [{lo:+.3f}, {hi:+.3f}]")
                )
            short = sum(
                len(self.queries[name][i].split()) <= SHORT for i in self.halves[name]["report"]
            )
            print(f"  {name:9} ({short} short) " + "; ".join(cells))
