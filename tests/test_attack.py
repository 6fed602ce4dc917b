import numpy as np
import pytest
import torch
from torch import nn

from amunflow import UserError
from amunflow.adversarial import ensure_valid, invalid_rows, load_for_forget_set, read_adversarial
from amunflow.attack import AttackConfig, calibrate_eps_init, pgd_l2_adaptive
from amunflow.checkpoint import save_checkpoint
from amunflow.data import save_bundle, synthetic
from amunflow.io import file_hash
from amunflow.jobs.adversarial import build_job
from amunflow.jobs.adversarial_summary import summary_job
from amunflow.models import build_model
from amunflow.splits import load_split, make_split, save_split
from amunflow.train import TrainConfig, train

from .reference_attack import pgd_l2_one


def tiny_cnn(num_classes=4):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, num_classes),
    )


@pytest.fixture(scope="module")
def trained():
    """A tiny float64 CNN trained a little on 8x8 synthetic images (some samples still wrong)."""
    data = synthetic(n_train=400, n_test=10, num_classes=4, image_size=8, seed=3)
    torch.manual_seed(0)
    model = tiny_cnn()
    train(
        model,
        data.train_x,
        data.train_y,
        TrainConfig.from_config(dict(epochs=4, batch_size=50, lr=0.05, crop_padding=1)),
        seed=0,
        device=torch.device("cpu"),
        progress_file=False,
    )
    model = model.double().eval()
    x = torch.as_tensor(data.train_x[:300]).double() / 255
    return model, x, torch.as_tensor(data.train_y[:300])


CFG = AttackConfig.from_config(dict(eps_init=0.01, steps=8, step_ratio=0.1, max_rounds=20, batch_size=37))


def test_vectorized_builder_matches_per_sample_reference(trained):
    model, x, y = trained
    adv = pgd_l2_adaptive(model, x, y, CFG, progress_file=False)
    eps_seen = set()
    for i in range(len(y)):
        r_adv, r_label, r_eps, r_evals, r_found, r_clean = pgd_l2_one(
            model, x[i], int(y[i]), CFG.eps_init, CFG.steps, CFG.step_ratio
        )
        assert adv.adv_label[i] == r_label and adv.clean_pred[i] == r_clean, i
        assert adv.eps[i] == pytest.approx(r_eps) and adv.grad_evals[i] == r_evals and adv.found[i] == r_found, i
        np.testing.assert_allclose(adv.images[i], r_adv.float().numpy(), atol=1e-5)
        eps_seen.add(round(r_eps, 6))
    assert len(eps_seen) >= 3, "the test should exercise several doublings"
    assert (adv.clean_pred != adv.label).any(), "the test should include clean-misclassified samples"


def test_compiled_and_unfolded_builders_agree_with_the_default(trained):
    model, x, y = trained
    x, y = x[:60], y[:60]
    base = pgd_l2_adaptive(model, x, y, CFG, progress_file=False)
    for kw in ({"fold_bn": False}, {"compile": True}):
        other = pgd_l2_adaptive(model, x, y, AttackConfig(**{**CFG.__dict__, **kw}), progress_file=False)
        np.testing.assert_array_equal(other.adv_label, base.adv_label)
        np.testing.assert_array_equal(other.grad_evals, base.grad_evals)
        np.testing.assert_allclose(other.images, base.images, atol=1e-5)


def check_invariants(model, x, y, adv, eps_init, atol_logit=0.0):
    assert adv.found.all()
    imgs = torch.as_tensor(adv.images)
    assert imgs.min() >= 0 and imgs.max() <= 1
    wrong_clean = adv.clean_pred != y.numpy()
    # y_adv != y everywhere; clean-misclassified samples keep x exactly with eps_init
    assert (adv.adv_label != y.numpy()).all()
    np.testing.assert_array_equal(imgs[wrong_clean].numpy(), x[wrong_clean].float().numpy())
    assert (adv.grad_evals[wrong_clean] == 0).all() and np.allclose(adv.eps[wrong_clean], eps_init)
    # the model's prediction at x_adv is y_adv
    with torch.no_grad():
        logits = model(imgs.to(next(model.parameters()).dtype))
    top = logits.max(1).values
    assert (logits[torch.arange(len(y)), torch.as_tensor(adv.adv_label)] >= top - atol_logit).all()
    # within the ball, eps on the grid eps_init * 2^k
    norms = (imgs.double() - x.double()).flatten(1).norm(dim=1).numpy()
    np.testing.assert_allclose(norms, adv.delta_norm, atol=1e-5)
    assert (norms <= adv.eps + 1e-5).all()
    k = np.log2(adv.eps / eps_init)
    np.testing.assert_allclose(k, np.rint(k), atol=1e-9)
    assert (k >= 0).all()


def test_invariants_float64(trained):
    model, x, y = trained
    adv = pgd_l2_adaptive(model, x, y, CFG, progress_file=False)
    check_invariants(model, x, y, adv, CFG.eps_init)


def test_invariants_resnet_float32_uint8_input():
    data = synthetic(n_train=512, n_test=8, num_classes=4, image_size=16, seed=5)
    torch.manual_seed(1)
    model = build_model({"arch": "resnet18", "width": 8}, 4)
    cfg_t = TrainConfig.from_config(dict(epochs=5, batch_size=64, lr=0.05, lr_step=4))
    train(model, data.train_x, data.train_y, cfg_t, 0, torch.device("cpu"), progress_file=False)
    model.train()
    cfg = AttackConfig.from_config(dict(eps_init=0.05, steps=5, batch_size=64))
    x_u8, y = torch.as_tensor(data.train_x[:200]), data.train_y[:200]
    adv = pgd_l2_adaptive(model, x_u8, y, cfg, progress_file=False)
    assert len(set(adv.clean_pred)) == 4  # a model that learned something
    check_invariants(model.eval(), x_u8.float() / 255, torch.as_tensor(y), adv, 0.05, atol_logit=1e-4)
    assert all(p.requires_grad for p in model.parameters())  # restored after the attack


def test_unbreakable_model_gives_up_after_max_rounds():
    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            out = torch.zeros(len(x), 3, dtype=x.dtype) + self.w * x.flatten(1).sum(1, keepdim=True) * 0
            out[:, 0] = 1.0
            return out

    x = torch.rand(5, 3, 4, 4)
    adv = pgd_l2_adaptive(
        Constant(),
        x,
        torch.zeros(5, dtype=torch.long),
        AttackConfig.from_config(dict(eps_init=0.1, steps=3, max_rounds=4)),
        progress_file=False,
    )
    assert not adv.found.any() and (adv.grad_evals == 12).all()
    np.testing.assert_allclose(adv.eps, 0.8)  # 0.1 * 2^3: the ball of the last round searched


def test_calibration_picks_95_percent_grid_point(trained):
    model, x, y = trained
    eps, all_eps = calibrate_eps_init(model, x[:100], y[:100], CFG, eps_start=0.002, quantile=0.95)
    assert (all_eps <= eps + 1e-12).mean() >= 0.95
    smaller = eps / 2
    assert eps == pytest.approx(0.002) or (all_eps <= smaller + 1e-12).mean() < 0.95
    assert np.log2(eps / 0.002) == pytest.approx(round(np.log2(eps / 0.002)))


def test_artifact_roundtrip_checks_and_report(tmp_path):
    data = synthetic(n_train=120, n_test=8, num_classes=4, image_size=16, seed=6)
    save_bundle(tmp_path / "d.h5", data)
    torch.manual_seed(0)
    model = build_model({"arch": "resnet18", "width": 4}, 4)
    meta = {
        "model": {"arch": "resnet18", "width": 4},
        "num_classes": 4,
        "image_size": 16,
        "dataset_fingerprint": data.fingerprint(),
    }
    save_checkpoint(tmp_path / "m.pt", model, meta)
    split = make_split({"kind": "random", "size": 30}, 1, data.train_y, data.classes)
    save_split(tmp_path / "s.h5", split, data.fingerprint())
    cfg = {"eps_init": 0.05, "steps": 4, "batch_size": 50}
    stats = build_job(tmp_path / "m.pt", tmp_path / "d.h5", None, cfg, "cpu", tmp_path / "all.h5", progress_file=False)
    assert stats["n"] == 120 and stats["paper_bound_mean_grad_evals"] == 12
    adv, attrs = read_adversarial(tmp_path / "all.h5")
    assert attrs["checkpoint_hash"] == file_hash(tmp_path / "m.pt") and attrs["attack_steps"] == 4
    np.testing.assert_array_equal(adv.index, np.arange(120))
    imgs, labels, sub = load_for_forget_set(
        tmp_path / "all.h5", tmp_path / "m.pt", load_split(tmp_path / "s.h5"), data.fingerprint()
    )
    np.testing.assert_array_equal(sub.index, split.forget)  # forget order
    np.testing.assert_array_equal(labels, adv.adv_label[split.forget])
    np.testing.assert_array_equal(imgs, adv.images[split.forget])
    # forget-only build: the same samples give the same result (per-sample independence)
    build_job(
        tmp_path / "m.pt", tmp_path / "d.h5", tmp_path / "s.h5", cfg, "cpu", tmp_path / "f.h5", progress_file=False
    )
    f_imgs, f_labels, _ = load_for_forget_set(tmp_path / "f.h5", tmp_path / "m.pt", split)
    np.testing.assert_array_equal(f_labels, labels)
    np.testing.assert_allclose(f_imgs, imgs, atol=1e-5)
    # a different checkpoint is refused
    save_checkpoint(tmp_path / "m2.pt", build_model({"arch": "resnet18", "width": 4}, 4), meta)
    with pytest.raises(UserError, match="another checkpoint"):
        load_for_forget_set(tmp_path / "all.h5", tmp_path / "m2.pt")
    other = make_split({"kind": "random", "size": 30}, 2, data.train_y, data.classes)
    with pytest.raises(UserError, match="no entry for"):
        load_for_forget_set(tmp_path / "f.h5", split=other)
    row = summary_job(tmp_path / "all.h5", tmp_path / "sum.csv", tmp_path / "hist.png")
    assert row["n"] == 120 and (tmp_path / "hist.png").read_bytes()[:4] == b"\x89PNG"
    import pandas as pd

    assert pd.read_csv(tmp_path / "sum.csv")["mean_grad_evals"][0] == pytest.approx(adv.grad_evals.mean())
    # one stored value changed after writing (what a flipped bit in an uncompressed dataset does)
    import h5py

    with h5py.File(tmp_path / "all.h5", "r+") as f:
        f["adv_label"][7] = (f["adv_label"][7] + 1) % 4
    with pytest.raises(UserError, match=r"adversarial set .*all.h5 does not match the content hash"):
        read_adversarial(tmp_path / "all.h5")


@pytest.fixture(scope="module")
def resnet_and_data():
    data = synthetic(n_train=300, n_test=8, num_classes=4, image_size=16, seed=5)
    torch.manual_seed(0)
    model = build_model({"arch": "resnet18", "width": 8}, 4)
    train(
        model,
        data.train_x,
        data.train_y,
        TrainConfig.from_config(dict(epochs=6, batch_size=64, lr=0.05, lr_step=4)),
        0,
        torch.device("cpu"),
        progress_file=False,
    )
    return model.eval(), data


def test_ensure_valid_repairs_rows_that_fail_the_fp32_check(resnet_and_data):
    model, data = resnet_and_data
    x, y = torch.as_tensor(data.train_x[:80]), data.train_y[:80]
    cfg = AttackConfig.from_config(dict(eps_init=0.05, steps=5, batch_size=64))
    adv = pgd_l2_adaptive(model, x, y, cfg, progress_file=False)
    assert not invalid_rows(model, adv, y, "cpu").any()
    # break some rows as a bf16 build can: the stored image is the clean one (still classified y) or
    # the stored label is not what the fp32 model predicts
    broken = np.flatnonzero(adv.found & (adv.clean_pred == y))[:6]
    adv.images[broken[:3]] = x[broken[:3]].float().numpy() / 255
    adv.adv_label[broken[3:]] = (adv.adv_label[broken[3:]] + 1) % 4
    adv.adv_label[broken[3:]] = np.where(
        adv.adv_label[broken[3:]] == y[broken[3:]], (y[broken[3:]] + 1) % 4, adv.adv_label[broken[3:]]
    )
    assert invalid_rows(model, adv, y, "cpu").sum() == 6
    fresh = pgd_l2_adaptive(model, x[torch.as_tensor(broken)], y[broken], cfg, progress_file=False)
    counts = ensure_valid(model, x, y, adv, cfg, "cpu")
    assert counts == {"repaired": 6, "invalid_after_repair": 0}
    assert not invalid_rows(model, adv, y, "cpu").any()
    np.testing.assert_array_equal(np.flatnonzero(adv.repaired), np.sort(broken))
    np.testing.assert_array_equal(adv.adv_label[broken], fresh.adv_label)  # the fp32 Algorithm 1 result
    np.testing.assert_allclose(adv.images[broken], fresh.images, atol=1e-6)


def test_continued_attack_steps_before_its_first_check(resnet_and_data):
    model, data = resnet_and_data
    x, y = torch.as_tensor(data.train_x[:40]), data.train_y[:40]
    cfg = AttackConfig.from_config(dict(eps_init=0.05, steps=5, batch_size=64))
    adv = pgd_l2_adaptive(model, x, y, cfg, progress_file=False)
    rounds = np.rint(np.log2(adv.eps / cfg.eps_init)).astype(np.int64)
    more = pgd_l2_adaptive(model, x, y, cfg, progress_file=False, start=torch.as_tensor(adv.images), rounds0=rounds)
    assert (more.grad_evals >= 1).all() and (more.eps >= adv.eps).all()
    assert (more.adv_label != y).all() and (more.delta_norm <= more.eps + 1e-6).all()


def test_bf16_build_stores_only_rows_valid_in_fp32(resnet_and_data, tmp_path):
    model, data = resnet_and_data
    save_bundle(tmp_path / "d.h5", data)
    meta = {
        "model": {"arch": "resnet18", "width": 8},
        "num_classes": 4,
        "image_size": 16,
        "dataset_fingerprint": data.fingerprint(),
    }
    save_checkpoint(tmp_path / "m.pt", model, meta)
    cfg = {"eps_init": 0.02, "steps": 5, "batch_size": 64, "precision": "bf16"}
    stats = build_job(tmp_path / "m.pt", tmp_path / "d.h5", None, cfg, "cpu", tmp_path / "a.h5", progress_file=False)
    adv, attrs = read_adversarial(tmp_path / "a.h5")
    bare = pgd_l2_adaptive(
        model, torch.as_tensor(data.train_x), data.train_y, AttackConfig.from_config(cfg), progress_file=False
    )
    n_bad = int(invalid_rows(model, bare, data.train_y, "cpu").sum())  # what a bf16 build stored before the check
    assert stats["repaired"] == attrs["repaired"] == int(adv.repaired.sum()) >= n_bad
    assert not invalid_rows(model, adv, data.train_y, "cpu").any() and adv.found.all()
    print(f"bf16 build: {n_bad} of {len(adv)} rows failed the fp32 check and were repaired")
