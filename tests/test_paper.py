"""The paper's tables as data, and the run-vs-paper comparison's arithmetic."""

import math

import pandas as pd
import pytest
import yaml

from amunflow.config import validate_config
from amunflow.paper import compare, load, protocol_differences, rankings

from .helpers import ROOT


def test_the_papers_tables_load_cell_by_cell():
    paper = load()
    assert len(paper) == 300 and set(paper["table"]) == {1, 2, 10, 11}
    cell = paper[(paper["table"] == 1) & (paper["method"] == "amun") & (paper["fraction"] == 0.1)].set_index("metric")
    assert cell.loc["avg_gap", "mean"] == 0.62 and cell.loc["avg_gap", "std"] == 0.05
    assert cell.loc["ft_auc", "mean"] == 50.18 and math.isnan(
        paper[(paper["table"] == 1) & (paper["method"] == "retrain") & (paper["metric"] == "retain_acc")]["std"].iloc[0]
    )
    mis = paper[
        (paper["table"] == 11) & (paper["method"] == "ga") & (paper["fraction"] == 0.1) & (paper["metric"] == "mis")
    ]
    assert mis["mean"].iloc[0] == 32.63 and mis["std"].iloc[0] == 50.85


def agg_row(method, setting, **means):
    row = {"method": method, "base_method": method, "setting": setting, "forget": "random0.1"}
    return {**row, **{f"{k}_mean": v for k, v in means.items()}}


def test_the_comparison_by_hand():
    agg = pd.DataFrame(
        [
            agg_row("amun", "with_retain", unlearn_acc=96.0, retain_acc=99.0, test_acc=93.30, ft_auc=50.0, avg_gap=0.9),
            agg_row(
                "retrain", "reference", unlearn_acc=94.0, retain_acc=100.0, test_acc=94.33, ft_auc=50.0, avg_gap=0.0
            ),
            agg_row("rl", "with_retain", unlearn_acc=95.0, retain_acc=97.0, test_acc=92.0, ft_auc=51.0, avg_gap=1.5),
            agg_row("ga", "with_retain", unlearn_acc=99.0, retain_acc=99.0, test_acc=93.0, ft_auc=60.0, avg_gap=4.0),
        ]
    )
    table = compare(agg, "ft_auc", {"random0.1": 0.1}).set_index(["method", "metric"])
    ua = table.loc[("amun", "unlearn_acc")]
    assert ua["paper"] == 95.45 and ua["diff"] == pytest.approx(0.55) and ua["z"] == pytest.approx(0.55 / 0.19)
    assert ua["flag"] == "**"  # 2.9 paper standard deviations
    ta = table.loc[("amun", "test_acc")]
    assert ta["z"] == pytest.approx(-0.15 / 0.22) and ta["flag"] == ""
    assert math.isnan(table.loc[("amun", "retain_acc")]["z"])  # the paper's std is 0.00: no z
    gap = table.loc[("amun", "avg_gap")]
    assert gap["z"] == pytest.approx((0.9 - 0.62) / 0.05) and gap["flag"] == "**"
    assert table.loc[("retrain", "unlearn_acc")]["paper"] == 94.49  # the reference row meets Table 1's retrain
    ranks = rankings(compare(agg, "ft_auc", {"random0.1": 0.1})).iloc[0]
    assert ranks["run_order"] == ranks["paper_order"] == "amun < rl < ga" and ranks["kendall_tau"] == pytest.approx(1.0)
    assert compare(agg, "ft_auc", {"random0.1": None}).empty  # a class-wise set has no paper cell


def test_the_protocol_is_the_papers_only_in_paper_yaml():
    paper = validate_config(yaml.safe_load((ROOT / "config" / "paper.yaml").read_text()), check_data=False)
    assert protocol_differences(paper) == []
    default = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), check_data=False)
    diffs = protocol_differences(default)
    assert any("2500 training images" in d for d in diffs) and any("width 16" in d for d in diffs)
    assert "crops padded by 2, flips (paper: crops padded by 4, flips)" in diffs


def test_the_comparison_names_a_narrower_tuning_grid_or_none():
    default = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), check_data=False)
    assert any(d.startswith("tuned over a narrower grid") for d in protocol_differences(default))
    default["tuning"]["enabled"] = False
    assert any(d.startswith("not tuned") for d in protocol_differences(default))
