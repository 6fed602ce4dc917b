"""Is the default's answer tied to its seeds? Compares the rankings of two finished runs of the same
config with other subset, split and model seeds (e.g. the default and the same with
config/other_seeds.yaml as an overlay, in another folder) and prints, per access setting, each
method's gap and interval in both, the rank correlation, and for every pair of methods whether the
two runs order it the same way, resolve it in one run only, or contradict each other (both resolve
it, in opposite orders). A pair is resolved when the two methods' gap intervals do not overlap.

    snakemake --cores 2 -d runs/other --configfile config/config.yaml config/other_seeds.yaml
    python benchmarks/seed_robustness.py results runs/other/results
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr


def ranking(results: Path) -> pd.DataFrame:
    agg = pd.read_csv(results / "tables" / "aggregate.csv")
    agg = agg[~agg["method"].isin(["original", "retrain"])]
    return agg[["setting", "forget", "method", "avg_gap_mean", "avg_gap_ci_lo", "avg_gap_ci_hi"]]


def order(lo_a, hi_a, lo_b, hi_b) -> int:
    """-1: a is resolved below b (its interval ends before b's begins); 1: above; 0: they overlap."""
    return -1 if hi_a < lo_b else 1 if hi_b < lo_a else 0


def compare(first: pd.DataFrame, second: pd.DataFrame) -> list[str]:
    lines = []
    both = first.merge(second, on=["setting", "forget", "method"], suffixes=("_1", "_2"))
    for (setting, forget), g in both.groupby(["setting", "forget"], sort=False):
        g = g.sort_values("avg_gap_mean_1")
        rho = spearmanr(g["avg_gap_mean_1"], g["avg_gap_mean_2"]).statistic if len(g) > 2 else float("nan")
        lines += [f"**{setting}, {forget}**: rank correlation of the mean gaps {rho:.2f}", ""]
        lines += ["| method | gap, run 1 [interval] | gap, run 2 [interval] |", "|---|---|---|"]
        for r in g.itertuples():
            lines.append(
                f"| {r.method} | {r.avg_gap_mean_1:.2f} [{r.avg_gap_ci_lo_1:.2f}, {r.avg_gap_ci_hi_1:.2f}] | "
                f"{r.avg_gap_mean_2:.2f} [{r.avg_gap_ci_lo_2:.2f}, {r.avg_gap_ci_hi_2:.2f}] |"
            )
        counts = {"same order, resolved in both": [], "resolved in one run only": [], "contradicted": [],
                  "unresolved in both": []}  # fmt: skip
        rows = list(g.itertuples())
        for a, b in itertools.combinations(rows, 2):
            o1 = order(a.avg_gap_ci_lo_1, a.avg_gap_ci_hi_1, b.avg_gap_ci_lo_1, b.avg_gap_ci_hi_1)
            o2 = order(a.avg_gap_ci_lo_2, a.avg_gap_ci_hi_2, b.avg_gap_ci_lo_2, b.avg_gap_ci_hi_2)
            key = (
                "unresolved in both" if o1 == o2 == 0 else
                "same order, resolved in both" if o1 == o2 else
                "contradicted" if o1 * o2 == -1 else "resolved in one run only"
            )  # fmt: skip
            counts[key].append(f"{a.method}/{b.method}")
        lines.append("")
        for key, pairs in counts.items():
            named = f" ({', '.join(pairs)})" if key == "contradicted" and pairs else ""
            lines.append(f"- {key}: {len(pairs)}{named}")
        lines.append("")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", type=Path, help="results folder of the first run")
    ap.add_argument("second", type=Path, help="results folder of the run with other seeds")
    args = ap.parse_args(argv)
    print("\n".join(compare(ranking(args.first), ranking(args.second))))


if __name__ == "__main__":
    main()
