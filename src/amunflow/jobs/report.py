"""The report's tables and figures, from every run's metric row."""

from __future__ import annotations

import pandas as pd

from .. import UserError, paper
from ..audits import METRIC_COLUMNS
from ..bootstrap import bootstrap
from ..gaps import PROGRESS_COLUMNS, add_gaps
from ..io import atomic_path
from ..plots import confidence_histograms, ft_roc_curves, gap_bars
from ..tables import (
    aggregate,
    cost_table,
    rank_with_verdicts,
    read_runs,
    render_audits,
    render_cost,
    render_ranking,
    render_table,
    table_cells,
)


def aggregate_job(
    metric_csvs,
    mia_column: str,
    settings: list[str],
    out_runs,
    out_agg,
    out_tables: dict,
    boot: dict,
    unlearned_bar: float,
) -> None:
    """Gaps, the aggregate (mean ± std over runs, with bootstrap intervals: ``boot`` = the
    ``evaluation.bootstrap`` section, and the verdict 'did not unlearn' below ``unlearned_bar``), the
    paper's table per access setting (md, tex, html), the cost table and the ranking (md, html);
    ``out_tables`` maps '<name>_<ext>' to paths."""
    runs = read_runs(metric_csvs)
    if mia_column not in runs or runs[mia_column].isna().all():
        raise UserError(
            f"config key evaluation.mia_column: {mia_column} has no values (is rmia.enabled false?); "
            "use mis or enable RMIA."
        )
    runs = add_gaps(runs, mia_column)
    agg = aggregate(runs, unlearned_bar)
    columns = METRIC_COLUMNS + ["avg_gap"] + PROGRESS_COLUMNS
    ci, ranking = bootstrap(runs, columns, boot["samples"], boot["level"], boot["seed"])
    agg = agg.merge(ci, on=["method", "setting", "forget"], how="left")
    ranking = ranking[ranking["setting"] != "reference"] if len(ranking) else ranking
    ranking = rank_with_verdicts(ranking, agg)
    with atomic_path(out_runs) as tmp:
        runs.to_csv(tmp, index=False)
    with atomic_path(out_agg) as tmp:
        agg.to_csv(tmp, index=False)
    for setting in settings:
        cells = table_cells(agg, mia_column, setting)
        for kind in ("md", "tex", "html"):
            with atomic_path(out_tables[f"{setting}_{kind}"]) as tmp:
                tmp.write_text(render_table(*cells, kind))
    cost = cost_table(agg)
    for kind in ("md", "html"):
        with atomic_path(out_tables[f"cost_{kind}"]) as tmp:
            tmp.write_text(render_cost(cost, kind))
        with atomic_path(out_tables[f"ranking_{kind}"]) as tmp:
            tmp.write_text(render_ranking(ranking, boot["level"], kind))
        with atomic_path(out_tables[f"audits_{kind}"]) as tmp:
            tmp.write_text(render_audits(agg, kind))


def plots_job(aggregate_csv, settings: list[str], examples: dict, out_gap, out_confidence, out_roc) -> None:
    """Gap bars, and per access setting the confidence histograms and FT ROC curves of one example
    run of every method (``examples``: setting -> {label: per-run .npz})."""
    gap_bars(pd.read_csv(aggregate_csv), settings, out_gap)
    for setting, conf_png, roc_png in zip(settings, out_confidence, out_roc, strict=True):
        confidence_histograms(examples[setting], conf_png)
        ft_roc_curves(examples[setting], roc_png)


def compare_job(aggregate_csv, mia_column: str, fractions: dict, differences: list[str], out_csv, out_md, out_html):
    """The run's aggregate beside the paper's tables (amunflow.paper)."""
    table = paper.compare(pd.read_csv(aggregate_csv), mia_column, fractions)
    ranks = paper.rankings(table)
    tables = "1-2 (FT AUC)" if mia_column == "ft_auc" else "10-11 (MIS)"
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(out_md) as tmp:
        tmp.write_text(paper.render(table, ranks, differences, tables, "md"))
    with atomic_path(out_html) as tmp:
        tmp.write_text(paper.render(table, ranks, differences, tables, "html"))
    return table
