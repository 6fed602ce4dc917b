import json

import pandas as pd
import pytest
import yaml

from amunflow import UserError
from amunflow.audits import ID_COLUMNS, METRIC_COLUMNS
from amunflow.hyper import grid_points, parse_point, point_id
from amunflow.io import checksummed_csv
from amunflow.jobs.tuning import select_job
from amunflow.tuning import select

from .helpers import CONFIGS, job_counts, snakemake


def test_grid_points_and_ids_roundtrip():
    pts = grid_points({"lr": [0.1, 1e-05], "lr_step": [1, 10], "mask_ratio": [0.3, 0.5]}, "salun")
    assert len(pts) == 8 and pts[0] == {"lr": 0.1, "lr_step": 1, "mask_ratio": 0.3}
    assert all(parse_point(point_id(p), "salun") == p for p in pts)
    assert point_id(pts[-1]) == "lr1e-05_step10_mask0.5"
    assert grid_points({"lr": [0.1], "lr_step": [1], "mask_ratio": [0.5]}, "amun") == [{"lr": 0.1, "lr_step": 1}]
    # the AMUN code tunes amun and advonly side by side: mixture is a grid key of the AMUN variants only
    grid = {"lr": [0.01], "lr_step": [1], "mask_ratio": [0.5], "mixture": ["full", "advonly"]}
    amun_sa = grid_points(grid, "amun_salun")
    assert [point_id(p) for p in amun_sa] == ["lr0.01_step1_mask0.5_mixfull", "lr0.01_step1_mask0.5_mixadvonly"]
    assert all(parse_point(point_id(p), "amun_salun") == p for p in amun_sa)
    assert grid_points(grid, "rl") == [{"lr": 0.01, "lr_step": 1}] and len(grid_points(grid, "amun")) == 2
    with pytest.raises(ValueError):
        parse_point("lr0.1_stepx", "amun")


def test_any_hyperparameter_of_a_method_can_be_a_grid_key():
    # a method's own keys (booleans, integers, enums, names with underscores and shared prefixes)
    grid = {"lr": [0.01], "alpha": [0.5, 1e-3], "kd_T": [4.0], "msteps": [1, 3], "forget_batch_size": [16]}
    pts = grid_points(grid, "scrub")
    assert len(pts) == 4 and list(pts[0]) == ["lr", "alpha", "forget_batch_size", "kd_T", "msteps"]
    assert point_id(pts[1]) == "lr0.01_alpha0.5_forgetbatchsize16_kdT4_msteps3"
    assert all(parse_point(point_id(p), "scrub") == p for p in pts)
    l1 = grid_points({"alpha": [5e-4], "alpha_schedule": ["linear"], "lr_step": [10]}, "l1_sparse")
    assert point_id(l1[0]) == "step10_alpha0.0005_alphaschedulelinear"
    assert parse_point(point_id(l1[0]), "l1_sparse") == l1[0]
    b = grid_points({"discretize": [True, False], "fgsm_eps": [0.1]}, "bs")
    assert [point_id(p) for p in b] == ["discretizetrue_fgsmeps0.1", "discretizefalse_fgsmeps0.1"]
    assert [parse_point(point_id(p), "bs") for p in b] == b
    assert grid_points(grid, "ssd") == [{"lr": 0.01}]  # keys a method does not have are left out


@pytest.mark.parametrize(
    "tuning, match",
    [
        ({"grid": {"bogus": [1]}}, r"tuning\.grid: \['bogus'\] are not hyperparameters of any method"),
        ({"grids": {"scrub": {"msteps": [1.5]}}}, r"tuning\.grids\.scrub\.msteps\[0\]: 1\.5 is not of type 'integer'"),
        ({"grids": {"scrub": {"mask_ratio": [0.5]}}}, r"tuning\.grids\.scrub: \[.mask_ratio.\] are not"),
        ({"grids": {"ngplus": {"alpha": [0.9]}}}, r"tuning\.grids\.ngplus: 'ngplus' is not a tuned method instance"),
        ({"grid": {"lr": [-1.0]}}, r"tuning\.grid\.lr\[0\]: -1\.0 is less than or equal to the minimum of 0"),
    ],
)
def test_grid_keys_and_values_are_checked_with_the_key_named(tuning, match):
    from amunflow import UserError
    from amunflow.config import validate_config

    cfg = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    cfg["unlearn"]["methods"] = {"scrub": {}, "ngplus": {}, "amun": {}}
    cfg["tuning"] = {"enabled": True, "methods": ["scrub", "amun"], **tuning}
    with pytest.raises(UserError, match=match):
        validate_config(cfg)


def test_selection_picks_the_smallest_mean_gap_on_a_hand_made_grid():
    rows = []
    gaps = {  # point -> gaps on model seeds 1 and 2
        "lr0.1_step1": (3.0, 1.0),  # mean 2.0
        "lr0.01_step1": (1.5, 1.6),  # mean 1.55 <- best for with_retain
        "lr0.001_step10": (0.5, 9.0),  # best single run, worse mean
    }
    for point, (g1, g2) in gaps.items():
        for seed, g in ((1, g1), (2, g2)):
            rows.append(
                dict(method="amun", setting="with_retain", forget="random0.1", point=point, model_seed=seed, avg_gap=g)
            )
    rows += [
        dict(method="amun", setting="forget_only", forget="random0.1", point="lr0.1_step1", model_seed=1, avg_gap=4.0),
        dict(method="amun", setting="forget_only", forget="random0.1", point="lr0.01_step1", model_seed=1, avg_gap=4.0),
    ]
    chosen = select(pd.DataFrame(rows), {"amun": "amun"}).set_index("setting")
    assert chosen.loc["with_retain", "point"] == "lr0.01_step1"
    assert chosen.loc["with_retain", "avg_gap"] == pytest.approx(1.55)
    assert chosen.loc["with_retain", "lr"] == 0.01 and chosen.loc["with_retain", "lr_step"] == 1
    assert chosen.loc["forget_only", "point"] == "lr0.1_step1"  # a tie keeps the first grid point


def test_a_method_whose_every_point_diverged_is_named(tmp_path):
    rows = [
        dict(method="retrain", setting="reference", forget="random0.1", split_seed=2, model_seed=1, point=None,
             unlearn_acc=90.0, retain_acc=99.0, test_acc=90.0, ft_auc=50.0),
        dict(method="amun", setting="with_retain", forget="random0.1", split_seed=2, model_seed=1, point="lr0.01",
             unlearn_acc=91.0, retain_acc=98.0, test_acc=89.0, ft_auc=52.0),
        dict(method="ft", setting="with_retain", forget="random0.1", split_seed=2, model_seed=1, point="lr10"),
    ]  # fmt: skip
    paths = []
    for i, r in enumerate(rows):
        paths.append(tmp_path / f"{i}.csv")
        row = {**r, "base_method": r["method"], "split_hash": "h", "run": 0}
        text = pd.DataFrame([row], columns=ID_COLUMNS + ["point"] + METRIC_COLUMNS).to_csv(index=False)
        paths[-1].write_text(checksummed_csv(text))
    out = [tmp_path / n for n in ("grid.csv", "selected.csv")]
    with pytest.raises(UserError, match=r"no grid point of ft \(with_retain, random0.1\) gave .*\(lr10: diverged"):
        select_job(paths, "ft_auc", {"amun": "amun", "ft": "ft"}, *out)
    assert not out[1].exists()
    select_job(paths[:2], "ft_auc", {"amun": "amun"}, *out)
    assert pd.read_csv(out[1])["point"].tolist() == ["lr0.01"]


@pytest.mark.workflow
def test_tuning_stage_selects_and_final_runs_use_it_and_extending_the_grid_reruns_only_new_points(tmp_path):
    cfg_path = tmp_path / "tune.yaml"
    cfg = yaml.safe_load((CONFIGS / "tune.yaml").read_text())
    cfg_path.write_text(yaml.safe_dump(cfg))
    work = tmp_path / "run"
    snakemake(work, "--configfile", str(cfg_path))
    res = work / "results"
    grid = pd.read_csv(str(res / "tuning" / "grid.csv"))
    ft_grid = grid[grid["method"] == "ft"].set_index("point")
    grid = grid[grid["method"] == "amun"]
    # FT's lr 1e30 diverged: recorded in its sidecar, no metric, passed over by the selection
    blown = res / "tuning" / "runs" / "ft" / "with_retain" / "random0.1" / "lr1e+30" / "seed1.json"
    assert "diverged" in json.loads(blown.read_text())["diverged"]
    assert ft_grid.loc["lr1e+30", ["unlearn_acc", "ft_auc", "avg_gap"]].isna().all()
    assert ft_grid.loc["lr0.01", "avg_gap"] >= 0
    assert (
        sorted(grid["point"])
        == [
            "lr0.001_step1_mixadvonly",
            "lr0.001_step1_mixfull",
            "lr0.05_step1_mixadvonly",
            "lr0.05_step1_mixfull",
        ]
        and (grid["split_seed"] == 2).all()
    )
    selected = pd.read_csv(str(res / "tuning" / "selected.csv")).set_index("method")
    assert selected.loc["ft", "point"] == "lr0.01"
    selected = selected.loc["amun"]
    assert selected["point"] == grid.loc[grid["avg_gap"].idxmin(), "point"]
    final = json.loads(
        (res / "unlearn" / "amun" / "with_retain" / "random0.1" / "split1" / "seed1" / "run1.json").read_text()
    )
    assert final["hyper"]["lr"] == selected["lr"] and final["hyper"]["lr_step"] == selected["lr_step"]
    assert final["hyper"]["mixture"] == selected["mixture"]
    advonly = json.loads(
        (
            res / "tuning" / "runs" / "amun" / "with_retain" / "random0.1" / "lr0.05_step1_mixadvonly" / "seed1.json"
        ).read_text()
    )
    assert advonly["hyper"]["mixture"] == "advonly" and "forget" not in advonly["seen"]  # D_R u D_A
    ft = json.loads(
        (res / "unlearn" / "ft" / "with_retain" / "random0.1" / "split1" / "seed1" / "run1.json").read_text()
    )
    assert ft["hyper"]["lr"] == 0.01  # the one point of its grid that did not diverge
    # the tuning runs used the tuning forget set, not the evaluation one
    run = json.loads(
        (
            res / "tuning" / "runs" / "amun" / "with_retain" / "random0.1" / "lr0.05_step1_mixfull" / "seed1.json"
        ).read_text()
    )
    assert run["split_hash"] != final["split_hash"] and run["hyper"]["lr"] == 0.05

    cfg["tuning"]["grid"]["lr"].append(0.01)
    cfg_path.write_text(yaml.safe_dump(cfg))
    again = snakemake(work, "--configfile", str(cfg_path))
    ran = job_counts(again.stdout + again.stderr)
    assert ran.get("tune_unlearn") == 2 and ran.get("tune_evaluate") == 2, ran  # lr 0.01 x both mixtures
    assert not {"train_original", "train_retrain", "train_reference", "build_adversarial"} & set(ran), ran
    assert len(pd.read_csv(str(res / "tuning" / "grid.csv"))) == 8  # 6 of AMUN, 2 of FT


def test_a_grid_can_differ_per_access_setting():
    from amunflow.config import Experiment, validate_config

    cfg = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    cfg["unlearn"]["methods"] = {"rl": {}, "ft": {}}
    cfg["tuning"] = {
        "enabled": True,
        "grid": {"lr": [0.1], "lr_step": [1]},
        "grids": {"rl": {"lr": [0.01, 0.05], "lr_step": [5], "forget_only": {"lr": [0.001], "lr_step": [1, 10]}}},
    }
    units = Experiment(validate_config(cfg)).tuning_units()
    points = {(i, s): sorted(p for i2, s2, _, p, _ in units if (i2, s2) == (i, s)) for i, s, _, _, _ in units}
    assert points[("rl", "with_retain")] == ["lr0.01_step5", "lr0.05_step5"]
    assert points[("rl", "forget_only")] == ["lr0.001_step1", "lr0.001_step10"]  # its own keys replace the lr
    assert points[("ft", "with_retain")] == ["lr0.1_step1"] and ("ft", "forget_only") not in points
    bad = {
        "rl": {"forget_only": {"lr": [-1.0]}},
        "ft": {"lr": [0.01], "forget_only": {"lr": [0.01]}},
    }
    for inst, match in (
        ("rl", r"tuning\.grids\.rl\.forget_only\.lr\[0\]"),
        ("ft", r"tuning\.grids\.ft\.forget_only: .*"),
    ):
        broken = {**cfg, "tuning": {**cfg["tuning"], "grids": {inst: bad[inst]}}}
        with pytest.raises(UserError, match=match):
            validate_config(broken)
