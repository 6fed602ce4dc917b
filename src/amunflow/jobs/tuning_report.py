"""The tuning stage's report: the selected point of each method, setting and forget set with how far
it got and the verdict, every grid point's gap, and the plot of gap against learning rate."""

from __future__ import annotations

import pandas as pd

from ..gaps import NOT_UNLEARNED, PROGRESS_COLUMNS, verdict
from ..io import atomic_path
from ..plots import tuning_curves


def tuning_report_job(
    grid_csvs, selected_csvs, unlearned_bar: float, out_html, out_png, out_grid, out_selected
) -> pd.DataFrame:
    """Every instance's grid and selection (one selection checkpoint each) in one table each, and the
    selection with its verdict ('no': the point closed less than ``unlearned_bar`` of the
    original-to-retrain distance on UA and on the MIA column alike), as HTML with the grid's gaps,
    and the plot."""
    grid = pd.concat([pd.read_csv(p) for p in grid_csvs], ignore_index=True)
    chosen = pd.concat([pd.read_csv(p) for p in selected_csvs], ignore_index=True)
    with atomic_path(out_grid) as tmp:
        grid.to_csv(tmp, index=False)
    with atomic_path(out_selected) as tmp:
        chosen.to_csv(tmp, index=False)
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
