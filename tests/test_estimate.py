import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

from amunflow.config import validate_config
from amunflow.estimate import count_test_images, estimate, main

from .helpers import ROOT


def test_paper_protocol_costs_match_the_specs_arithmetic():
    cfg = validate_config(yaml.safe_load((ROOT / "config" / "paper.yaml").read_text()), check_data=False)
    rows = {r["stage"]: r for r in estimate(cfg, 50000, 10000)}
    assert rows["original models"]["sample_steps"] == 3 * 201 * 50000
    # one retrain of a 10% set is 201 x 45k = 9.0M sample-steps (docs/protocol.md §6); 9 per forget size
    assert rows["retrained references"]["sample_steps"] == 9 * 201 * (45000 + 25000)
    # RMIA: 128 x 161 x 30k = 618M sample-steps (docs/protocol.md §6)
    assert rows["RMIA reference models"]["sample_steps"] == 618_240_000
    # D_A for all of D per original model: at most 3 PGD-50 passes
    assert rows["adversarial sets D_A"]["attack_grad_evals"] == 3 * 3 * 50 * 50000
    # tuning, per method, access setting and forget size on 3 models: 21 grid points (42 for the two
    # AMUN variants, amun and advonly); FT and l1-sparse need D_R, so they tune in one setting only
    per_forget_size = 2 * 21 + 2 * 2 * 42 + 4 * 2 * 21
    assert rows["tuning runs (+ tuning-set retrains)"]["jobs"] == per_forget_size * 2 * 3 + 2 * 3
    advonly_with_retain_10 = 10 * 45000 + 10 * 5000  # D_R u D_A; full would add D_F
    assert rows["tuning runs (+ tuning-set retrains)"]["sample_steps"] > 0
    cfg["sequential"]["enabled"] = False  # its methods are not all kept below
    cfg_t = dict(
        cfg,
        forget_sets=[{"kind": "random", "size": 0.1}],
        unlearn=dict(cfg["unlearn"], methods={"amun": {}}, settings=["with_retain"]),
    )
    cfg_t["tuning"] = dict(
        cfg["tuning"], model_seeds=[1], grid={"lr": [0.01], "lr_step": [1], "mixture": ["full", "advonly"]}
    )
    t = {r["stage"]: r for r in estimate(cfg_t, 50000, 10000)}["tuning runs (+ tuning-set retrains)"]
    assert t["jobs"] == 2 + 1 and t["sample_steps"] == 10 * 55000 + advonly_with_retain_10 + 201 * 45000
    # AMUN with D_R, 10%: 10 x 55k per run (docs/protocol.md §6)
    cfg["unlearn"]["methods"] = {"amun": {}}
    cfg["unlearn"]["settings"] = ["with_retain"]
    cfg["forget_sets"] = [{"kind": "random", "size": 0.1}]
    rows = {r["stage"]: r for r in estimate(cfg, 50000, 10000)}
    assert rows["unlearning runs"]["sample_steps"] == 27 * 10 * 55000 and rows["unlearning runs"]["jobs"] == 27


def test_the_default_prices_one_d_a_per_evaluation_and_tuning_split():
    cfg = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), check_data=False)
    rows = {r["stage"]: r for r in estimate(cfg, 2500, 1500)}
    # three evaluation splits and the tuning split (AMUN is tuned), 250 forget images each, at most 3
    # PGD passes of attack.steps per image: what `snakemake -n` lists as 4 build_adversarial jobs
    assert rows["adversarial sets D_A"]["jobs"] == 4
    assert rows["adversarial sets D_A"]["attack_grad_evals"] == 4 * 250 * 3 * cfg["attack"]["steps"]
    off = dict(cfg, tuning=dict(cfg["tuning"], enabled=False))
    assert {r["stage"]: r for r in estimate(off, 2500, 1500)}["adversarial sets D_A"]["jobs"] == 3


def test_ulira_is_priced_shadow_by_shadow():
    """tests/configs/ulira.yaml: 4 shadows on about 80 of 160 images, a 40-image forget set (about 20 each)."""
    cfg = validate_config(yaml.safe_load((ROOT / "tests" / "configs" / "ulira.yaml").read_text()), check_data=False)
    rows = {r["stage"]: r for r in estimate(cfg, 160, 64)}
    assert rows["U-LiRA shadow originals"] == {
        "stage": "U-LiRA shadow originals",
        "jobs": 4,
        "sample_steps": 4 * 12 * 80,
        "attack_grad_evals": 0,
    }
    # a retrain per shadow, and a second one for the calibration row "retrain"
    assert rows["U-LiRA shadow retrains"]["jobs"] == 8
    assert rows["U-LiRA shadow retrains"]["sample_steps"] == 8 * 12 * (80 - 20)
    assert rows["U-LiRA shadow D_A"]["attack_grad_evals"] == 4 * 3 * 5 * 20  # AMUN's D_A: 3 x 5 PGD steps a sample
    # AMUN with D_R: 2 epochs over D_R, D_F and D_A of each shadow
    assert rows["U-LiRA shadow unlearning runs"]["sample_steps"] == 4 * 2 * (60 + 20 + 20)
    off = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), check_data=False)
    assert not [r for r in estimate(off, 5000, 2000) if r["stage"].startswith("U-LiRA")]


def test_epsilon_is_priced_by_the_models_it_adds():
    """tests/configs/epsilon.yaml: N = 8 retrains and 8 more for the calibration row, of which the main run
    trains seed 1's; 8 AMUN runs of which the main run is one; 128 of 160 images in D_R."""
    cfg = validate_config(yaml.safe_load((ROOT / "tests" / "configs" / "epsilon.yaml").read_text()), check_data=False)
    rows = {r["stage"]: r for r in estimate(cfg, 160, 64)}
    assert rows["epsilon / KLOM retrains"]["jobs"] == 15
    assert rows["epsilon / KLOM retrains"]["sample_steps"] == 15 * 12 * 128
    # AMUN with D_R: 2 epochs over D_R, D_F and D_A, 7 runs beyond the main one
    assert rows["epsilon / KLOM unlearning runs"] == {
        "stage": "epsilon / KLOM unlearning runs",
        "jobs": 7,
        "sample_steps": 7 * 2 * (128 + 32 + 32),
        "attack_grad_evals": 0,
    }
    no_again = dict(
        cfg, evaluation=dict(cfg["evaluation"], epsilon=dict(cfg["evaluation"]["epsilon"], methods=["amun"]))
    )
    assert {r["stage"]: r for r in estimate(no_again, 160, 64)}["epsilon / KLOM retrains"]["jobs"] == 7


def test_cli_prints_gpu_hours(capsys):
    main(["--configfile", str(ROOT / "config" / "paper.yaml"), "--images-per-s", "25000"])
    out = capsys.readouterr().out
    assert "| RMIA reference models | 128 | 618,240,000 | 0 | 6.87 |" in out


def test_the_estimate_runs_from_a_wheel_install(tmp_path):
    """The schema ships as package data: a non-editable install finds it (no source tree needed)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    pip = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q", "-w"]
    subprocess.run(pip + [str(tmp_path / "wheel")], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("amunflow-*.whl")
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    code = (
        "import sys, amunflow; assert amunflow.__file__.startswith(sys.argv[1]), amunflow.__file__; "
        "from amunflow.estimate import main; main(['--configfile', sys.argv[2], '--images-per-s', '25000'])"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    args = [str(tmp_path / "site"), str(ROOT / "config" / "paper.yaml")]
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| RMIA reference models | 128 | 618,240,000 | 0 | 6.87 |" in proc.stdout


@pytest.mark.parametrize(
    "args,match",
    [
        (["--gpus", "-2"], "argument --gpus: '-2' is not a positive integer"),
        (["--gpus", "0"], "argument --gpus: '0' is not a positive integer"),
        (["--gpus", "1.5"], "argument --gpus: '1.5' is not a positive integer"),
        (["--images-per-s", "-5"], "argument --images-per-s: '-5' is not a positive number"),
        (["--images-per-s", "nan"], "argument --images-per-s: 'nan' is not a positive number"),
        (
            ["--images-per-s", "100", "--attack-evals-per-s", "0"],
            "argument --attack-evals-per-s: '0' is not a positive",
        ),
        (["--n-test", "0"], "argument --n-test: '0' is not a positive integer"),
    ],
)
def test_cli_refuses_throughputs_and_cards_that_are_not_positive(capsys, args, match):
    with pytest.raises(SystemExit) as e:
        main(["--configfile", str(ROOT / "config" / "paper.yaml"), *args])
    assert e.value.code == 2
    assert match in capsys.readouterr().err


@pytest.mark.parametrize(
    "text,match",
    [
        (None, r"c\.yaml: cannot be read \(No such file or directory\)"),
        ("train: {lr: 0.1\n", r"c\.yaml: .* at line \d+, column \d+; fix the file\."),
        ("train: {lr: 0.05, lr: 5.0}\n", r"c\.yaml: key 'lr' is given twice in one mapping .* line 1, column 19"),
        ("train: {lr: .nan}\n", r"config key train\.lr: nan is not a finite number"),
        ("train: {epochs: 0}\n", r"config key train\.epochs: 0 is less than the minimum of 1"),
        ("rmia: {keep_seed: -1}\n", r"config key rmia\.keep_seed: -1 is less than the minimum of 0"),
    ],
)
def test_cli_refuses_a_bad_config_file_in_one_sentence(tmp_path, capsys, text, match):
    f = tmp_path / "c.yaml"
    if text is not None:
        f.write_text(text)
    with pytest.raises(SystemExit) as e:
        main(["--configfile", str(f), "--images-per-s", "25000"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and re.search(r"^amunflow-estimate: error: .*" + match, err), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_synthetic_dataset_is_priced_with_its_own_test_set(tmp_path, capsys):
    f = tmp_path / "c.yaml"
    f.write_text("dataset: {name: synthetic, synthetic: {n_train: 200, n_test: 96}}\nmodel_seeds: [1]\n")
    main(["--configfile", str(f)])
    out = capsys.readouterr().out
    assert "200 training and 96 test images" in out
    # RMIA's references train on halves of the population: training + test images
    assert f"| RMIA reference models | 4 | {4 * 201 * (200 + 96) // 2:,} | 0 |" in out
    assert count_test_images({"name": "synthetic", "test_subset": 50, "synthetic": {"n_test": 96}}) == 50
    assert count_test_images({"name": "cifar10", "test_subset": None, "synthetic": {"n_test": 96}}) == 10000
    assert count_test_images({"name": "synthetic", "test_subset": None, "synthetic": {"n_test": 96}}, 7) == 7
