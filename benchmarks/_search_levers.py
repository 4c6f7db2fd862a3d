"""search_quality.py --levers: fusion levers for one kind of query, chosen on the tune half and
reported on the other: the RRF constant k, the dense weight w and the candidate depth d (each
method's list cut to d before fusion; 100 is shipped), and query-length-aware weighting (a dense
weight for queries of at most ``SHORT`` words and another for longer ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

from dailypapers.search.hybrid import rrf_fuse

K_GRID = (1, 5, 10, 20, 60)
W_GRID = (0.5, 1.0, 1.5, 2.0, 3.0)
D_GRID = (20, 50, 100)
SHORT = 6  # words

Ranks = list[int | None]
Setting = tuple[int, float, float, int]  # k, w for short queries, w for long ones, depth


def _rank(target: int, ranking: Sequence[int]) -> int | None:
    for position, item in enumerate(ranking, start=1):
        if item == target:
            return position
    return None


def _scores(ranks: Ranks) -> tuple[float, float, float, float]:
    n = max(1, len(ranks))
    hit = [sum(1 for r in ranks if r is not None and r <= c) / n for c in (1, 5, 10)]
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return hit[0], hit[1], hit[2], mrr


def levers(
    name: str,
    queries: list[str],
    targets: list[int],
    keyword: list[list[int]],
    dense: list[list[int]],
    halves: dict[str, list[int]],
) -> None:
    """Print the setting the tune half chooses for ``name`` queries and both halves' figures."""
    short = [len(q.split()) <= SHORT for q in queries]

    def ranks(setting: Setting, chosen: list[int]) -> Ranks:
        k, w_short, w_long, depth = setting
        out: Ranks = []
        for i in chosen:
            w = w_short if short[i] else w_long
            fused = rrf_fuse([keyword[i][:depth], dense[i][:depth]], k=k, weights=[1.0, w])
            out.append(_rank(targets[i], [p for p, _ in fused]))
        return out

    same = [(k, w, w, d) for k, w, d in product(K_GRID, W_GRID, D_GRID)]
    split = [(k, ws, wl, 100) for k, ws, wl in product(K_GRID, W_GRID, W_GRID) if ws != wl]
    tune = {s: _scores(ranks(s, halves["tune"]))[3] for s in same + split}
    best_same = max(same, key=lambda s: tune[s])
    best_split = max(split, key=lambda s: tune[s])
    shipped: Setting = (5, 1.0, 1.0, 100)
    n_short = sum(short[i] for i in halves["report"])
    print(
        f"\nlevers, {name} queries ({n_short} of {len(halves['report'])} reported have at most "
        f"{SHORT} words); chosen on the tune half, measured on the report half:"
    )
    print("    setting (k, w short, w long, depth)      tune MRR   report hit@1 hit@5 hit@10   MRR")
    for label, setting in (
        ("shipped", shipped),
        ("best k, w, depth", best_same),
        ("best length-aware w", best_split),
    ):
        report = _scores(ranks(setting, halves["report"]))
        print(
            f"    {label:20s} {setting!s:20s} {tune[setting]:8.3f}        "
            + "  ".join(f"{v:.3f}" for v in report)
        )
    for depth in D_GRID:
        k, w = best_same[0], best_same[1]
        report = _scores(ranks((k, w, w, depth), halves["report"]))
        print(
            f"    depth {depth:3d} at k={k}, w={w}: report MRR {report[3]:.3f}, hit@5 {report[1]:.3f}"
        )
