"""The tuning stage's report: the selected point of each method, setting and forget set with how far
it got and the verdict, every grid point's gap, and the plot of gap against learning rate."""

from __future__ import annotations

import pandas as pd

from ..gaps import NOT_UNLEARNED, PROGRESS_COLUMNS, verdict
from ..io import atomic_path
from ..plots import tuning_curves


def tuning_report_job(grid_csv, selected_csv, unlearned_bar: float, out_html, out_png) -> pd.DataFrame:
    """The selection with its verdict ('no': the point closed less than ``unlearned_bar`` of the
    original-to-retrain distance on UA and on the MIA column alike), as HTML with the grid's gaps,
    and the plot."""
    grid, chosen = pd.read_csv(grid_csv), pd.read_csv(selected_csv)
    chosen["unlearned"] = [
        verdict({"method": r["method"], **{f"{c}_mean": r[c] for c in PROGRESS_COLUMNS}}, unlearned_bar)
        for _, r in chosen.iterrows()
    ]
    tuning_curves(grid, chosen, out_png)
    failed = chosen[chosen["unlearned"] == "no"]
    warning = (
        f"<p><b>{len(failed)} selected point(s) {NOT_UNLEARNED}</b> (closed less than {unlearned_bar:.0%} of the "
        f"distance from the original to the retrained model on UA and on the MIA column): "
        + ", ".join(f"{r.method} ({r.setting})" for r in failed.itertuples())
        + ". Widen the grid (tuning.grids) toward larger learning rates.</p>"
        if len(failed)
        else ""
    )
    table = grid.pivot_table(index=["method", "setting", "forget"], columns="point", values="avg_gap")
    with atomic_path(out_html) as tmp:
        tmp.write_text(
            "<h3>Selected</h3>"
            + warning
            + chosen.to_html(index=False, float_format="%.3g")
            + "<h3>Average gap of every grid point</h3>"
            + table.to_html(float_format="%.2f")
        )
    return chosen
