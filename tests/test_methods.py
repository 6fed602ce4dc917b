import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from amunflow import UserError
from amunflow.data import synthetic
from amunflow.hyper import resolve_hyper
from amunflow.methods import REGISTRY, bs
from amunflow.methods.l1_sparse import alpha_at
from amunflow.models import build_model
from amunflow.saliency import mask_from_scores, saliency_scores
from amunflow.schema import section
from amunflow.train import TrainConfig, train
from amunflow.unlearn import AccessError, DataViews, Hyper, Mixture, Run

CPU = torch.device("cpu")


class RecordingArray(np.ndarray):
    """An ndarray that records every index array used to read it."""

    def __new__(cls, a):
        obj = np.asarray(a).view(cls)
        obj.accessed = []
        return obj

    def __array_finalize__(self, obj):
        self.accessed = getattr(obj, "accessed", [])

    def __getitem__(self, idx):
        self.accessed.append(np.asarray(idx).ravel().copy())
        return np.asarray(super().__getitem__(idx))


@pytest.fixture(scope="module")
def setup():
    data = synthetic(n_train=240, n_test=40, num_classes=4, image_size=16, seed=11)
    torch.manual_seed(0)
    model = build_model({"arch": "resnet18", "width": 8}, 4)
    cfg = TrainConfig.from_config(dict(epochs=16, batch_size=32, lr=0.05, lr_step=10, even_batches=False))
    train(model, data.train_x, data.train_y, cfg, 0, CPU, progress_file=False)
    rs = np.random.RandomState(0)
    forget = rs.choice(240, 40, replace=False)
    retain = np.setdiff1d(np.arange(240), forget)
    adv_x = np.clip(data.train_x[forget] / 255 + rs.normal(0, 0.02, (40, 3, 16, 16)), 0, 1).astype(np.float32)
    adv_y = (data.train_y[forget] + 1) % 4
    return data, model, forget, retain, (adv_x, adv_y)


def make_run(setup, method, setting="with_retain", epochs=2, train_x=None, mask=None, **hyper):
    data, model, forget, retain, adv = setup
    m = build_model({"arch": "resnet18", "width": 8}, 4)
    m.load_state_dict(model.state_dict())
    spec = REGISTRY[method]
    hp = Hyper.from_dict({**spec.extra, "epochs": epochs, "batch_size": 32, "lr": 0.01, **hyper})
    x = data.train_x if train_x is None else train_x
    adv = adv if spec.needs_adv or spec.wraps else None
    mem = np.random.RandomState(5).rand(len(forget), 2) if spec.needs_memorization else None
    views = DataViews(
        x, data.train_y, forget, retain, setting, CPU, adv, 4, held_out=(data.test_x, data.test_y), memorization=mem
    )
    return Run(m, views, hp, seed=3, device=CPU, mask=mask, progress_file=False)


def test_fixture_model_learned(setup):
    data, model, forget, _, _ = setup
    assert forget_loss(model, setup) < 0.7


def forget_loss(model, setup):
    data, _, forget, _, _ = setup
    model.eval()
    with torch.no_grad():
        x = torch.as_tensor(data.train_x[forget]).float() / 255
        return float(F.cross_entropy(model(x), torch.as_tensor(data.train_y[forget])))


@pytest.mark.parametrize("setting", ["with_retain", "forget_only"])
def test_ga_raises_forget_loss(setup, setting):
    run = make_run(setup, "ga", setting, epochs=3, lr=0.05)
    before = forget_loss(run.model, setup)
    REGISTRY["ga"].run(run)
    assert forget_loss(run.model, setup) > before + 0.1


def test_rl_labels_are_wrong_and_redrawn_each_epoch(setup):
    from amunflow.methods.rl import random_label_parts

    data, _, forget, retain, _ = setup
    run = make_run(setup, "rl", epochs=3)
    parts = random_label_parts(run)
    true = torch.as_tensor(data.train_y[forget])
    labels = []
    for epoch in range(3):
        retain_part, forget_part = parts(epoch)
        assert retain_part.name == "retain" and len(retain_part) == len(retain)  # with D_R: kept as is
        assert forget_part.name == "forget" and torch.equal(
            forget_part.x, retain_part.x.new_tensor(data.train_x[forget])
        )
        labels.append(forget_part.y)
    for lab in labels:
        assert (lab != true).all() and lab.min() >= 0 and lab.max() < 4
    assert (labels[0] != labels[1]).any() and (labels[1] != labels[2]).any()


@pytest.mark.parametrize("wd,momentum", [(5e-4, 0.9), (0.0, 0.0), (5e-2, 0.9)])
@pytest.mark.parametrize("method", ["salun", "amun_salun"])
def test_masked_parameters_stay_bit_identical(setup, method, wd, momentum):
    data, model, forget, _, _ = setup
    scores = saliency_scores(model, data.train_x[forget], data.train_y[forget], CPU)
    mask = mask_from_scores(scores, 0.3)
    run = make_run(setup, method, mask=mask, weight_decay=wd, momentum=momentum, lr=0.05)
    before = {n: p.detach().clone() for n, p in run.model.named_parameters()}
    REGISTRY[method].run(run)
    moved = 0
    for n, p in run.model.named_parameters():
        frozen = mask[n] == 0
        assert torch.equal(p.detach()[frozen], before[n][frozen]), n
        moved += int((p.detach()[~frozen] != before[n][~frozen]).sum())
    assert moved > 0


def test_leaky_mask_option_lets_weight_decay_move_masked_parameters(setup):
    data, model, forget, _, _ = setup
    mask = mask_from_scores(saliency_scores(model, data.train_x[forget], data.train_y[forget], CPU), 0.3)
    run = make_run(setup, "salun", mask=mask, weight_decay=5e-2, leaky_mask=True)
    before = {n: p.detach().clone() for n, p in run.model.named_parameters()}
    REGISTRY["salun"].run(run)
    changed = sum(
        int((p.detach()[mask[n] == 0] != before[n][mask[n] == 0]).sum()) for n, p in run.model.named_parameters()
    )
    assert changed > 0


def test_mask_from_scores_matches_global_numpy_ranking():
    g = torch.Generator().manual_seed(0)
    scores = {
        "a": torch.rand(3, 4, generator=g),
        "b": torch.rand(10, generator=g),
        "c": torch.rand(2, 2, 2, generator=g),
    }
    flat = np.concatenate([s.numpy().ravel() for s in scores.values()])
    for ratio in (0.1, 0.5, 0.9, 1.0):
        mask = mask_from_scores(scores, ratio)
        got = np.concatenate([m.numpy().ravel() for m in mask.values()])
        k = int(round(ratio * flat.size))
        expected = np.zeros(flat.size)
        expected[np.argsort(-flat)[:k]] = 1
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "setting,expected",
    [
        ("with_retain", {"retain": 200, "forget": 40, "adversarial": 40}),
        ("forget_only", {"forget": 40, "adversarial": 40}),
    ],
)
def test_amun_epoch_is_exactly_the_configured_mixture_and_da_unaugmented(setup, setting, expected):
    _, _, _, _, (adv_x, _) = setup
    run = make_run(setup, "amun", setting, epochs=2)
    seen_inputs = []
    run.model.register_forward_pre_hook(lambda mod, args: seen_inputs.append(args[0].detach().clone()))
    REGISTRY["amun"].run(run)
    assert run.stats["seen"] == {k: 2 * v for k, v in expected.items()}
    assert run.stats["sample_steps"] == 2 * sum(expected.values())
    inputs = torch.cat(seen_inputs)
    keys = {x.numpy().tobytes() for x in inputs}
    assert all(torch.as_tensor(a).numpy().tobytes() in keys for a in adv_x)  # every D_A image, untouched
    run2 = make_run(setup, "amun", setting, epochs=1, mixture="advonly")
    REGISTRY["amun"].run(run2)
    assert "forget" not in run2.stats["seen"] and run2.stats["seen"]["adversarial"] == 40


def test_mixed_batches_augment_only_flagged_parts():
    from amunflow.unlearn import Part

    a = Part("clean", torch.full((10, 3, 8, 8), 255, dtype=torch.uint8), torch.zeros(10, dtype=torch.long), True)
    b = Part("adv", torch.rand(6, 3, 8, 8), torch.ones(6, dtype=torch.long), False)
    c = Part("more", torch.full((4, 3, 8, 8), 255, dtype=torch.uint8), torch.full((4,), 2, dtype=torch.long), True)
    gen = torch.Generator().manual_seed(0)
    hp = Hyper.from_dict({"crop_padding": 2})
    mix = Mixture([b, a, c])
    labels, cropped = [], 0
    for idx in mix.batches(5, gen):
        x, y = mix.gather(idx, gen, hp)
        for xi, yi in zip(x, y, strict=True):
            if yi == 1:  # D_A-like part: an exact, unaugmented image of b
                assert any(torch.equal(xi, bj) for bj in b.x)
            else:  # a cropped all-ones image: ones with possibly zero borders
                assert set(xi.unique().tolist()) <= {0.0, 1.0}
                cropped += bool((xi == 0).any())
        labels += y.tolist()
    assert sorted(labels) == [0] * 10 + [1] * 6 + [2] * 4  # every sample of every part exactly once
    assert cropped > 0, "augmented parts should show crops"
    # in order (shuffle=False): the augmented pool first, then the rest
    assert (
        torch.cat([mix.gather(i, gen, hp)[1] for i in mix.batches(7, gen, shuffle=False)]).tolist()
        == [0] * 10 + [2] * 4 + [1] * 6
    )


def reference_bs_epoch(setup, teacher_after_retain: bool, lr=0.05, eps=0.1):
    """One BS epoch written out step by step, with every set in one batch and no augmentation (so the
    pass order cannot matter): a descent step on D_R, the teacher copy, FGSM on D_F with the teacher,
    its labels, a CE step on D_F."""
    data, model, forget, retain, _ = setup
    m = copy.deepcopy(model)
    opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    xr, yr = torch.as_tensor(data.train_x[retain]).float() / 255, torch.as_tensor(data.train_y[retain])
    xf, yf = torch.as_tensor(data.train_x[forget]).float() / 255, torch.as_tensor(data.train_y[forget])
    teacher = None if teacher_after_retain else copy.deepcopy(m).eval()
    m.train()
    opt.zero_grad()
    F.cross_entropy(m(xr), yr).backward()
    opt.step()
    teacher = teacher or copy.deepcopy(m).eval()
    xa = xf.clone().requires_grad_(True)
    F.cross_entropy(teacher(xa), yf).backward()
    x_adv = torch.round(torch.clamp(xf + eps * xa.grad.sign(), 0, 1) * 255) / 255
    with torch.no_grad():
        labels = teacher(x_adv).argmax(1)
    m.train()
    opt.zero_grad()
    F.cross_entropy(m(xf), labels).backward()
    opt.step()
    return m, labels


@pytest.mark.parametrize("teacher", ["after_retain", "epoch_start"])
def test_bs_teacher_timing_matches_a_written_out_epoch(setup, teacher):
    after, labels_after = reference_bs_epoch(setup, True)
    before, labels_before = reference_bs_epoch(setup, False)
    assert (labels_after != labels_before).any()  # the D_R step moves the teacher's labels
    kw = {} if teacher == "after_retain" else {"teacher": teacher}  # after_retain is the default (AMUN code)
    run = make_run(setup, "bs", epochs=1, lr=0.05, batch_size=1000, crop_padding=0, flip=False, **kw)
    REGISTRY["bs"].run(run)
    want, other = (after, before) if teacher == "after_retain" else (before, after)
    got = run.model.state_dict()
    for k, v in want.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(got[k], v, rtol=1e-4, atol=1e-5, msg=k)
    assert any(
        not torch.allclose(got[k], v, rtol=1e-4, atol=1e-5)
        for k, v in other.state_dict().items()
        if v.is_floating_point()
    )


def test_fgsm_is_linf_bounded_and_on_the_pixel_grid(setup):
    _, model, _, _, _ = setup
    x = torch.rand(8, 3, 16, 16)
    y = torch.randint(0, 4, (8,))
    xa = bs.fgsm(model.eval(), x, y, 0.1)
    assert (xa - x).abs().max() <= 0.1 + 1 / 255
    torch.testing.assert_close(xa * 255, torch.round(xa * 255))


@pytest.mark.parametrize("method", [m for m, s in REGISTRY.items() if "forget_only" in s.settings])
def test_forget_only_never_reads_a_retain_index(setup, method):
    data, model, forget, retain, _ = setup
    rec = RecordingArray(data.train_x)
    mask = None
    if REGISTRY[method].needs_mask:
        mask = mask_from_scores(saliency_scores(model, data.train_x[forget], data.train_y[forget], CPU), 0.5)
    steps = {"inner": ["none", "rl", "amun"]} if REGISTRY[method].wraps else {}  # RUM: steps that run without D_R
    run = make_run(setup, method, "forget_only", epochs=1, train_x=rec, mask=mask, **steps)
    REGISTRY[method].run(run)
    touched = np.unique(np.concatenate(rec.accessed))
    assert len(touched) and not np.isin(touched, retain).any()
    with pytest.raises(AccessError):
        run.data.retain()


def test_with_retain_run_does_read_retain(setup):
    data, _, _, retain, _ = setup
    rec = RecordingArray(data.train_x)
    REGISTRY["ft"].run(make_run(setup, "ft", epochs=1, train_x=rec))
    assert np.isin(retain, np.concatenate(rec.accessed)).all()


def test_l1_alpha_schedules():
    assert [alpha_at(1.0, "linear", e, 4) for e in range(4)] == [1.0, 0.75, 0.5, 0.25]
    # compound, by hand for alpha 5e-4 and E = 10: 5e-4, then x2, x1.8, x1.6, ...
    got = [alpha_at(5e-4, "compound", e, 10) for e in range(10)]
    hand = [5e-4, 1e-3, 1.8e-3, 2.88e-3, 4.032e-3, 4.8384e-3, 4.8384e-3, 3.87072e-3, 2.322432e-3, 9.289728e-4]
    assert got == pytest.approx(hand, rel=1e-12)
    # the AMUN code's loop: the penalty of epoch t uses args.alpha_l1, updated at the end of the epoch
    alpha_l1, used = 5e-4, []
    for epoch in range(10):
        used.append(alpha_l1)
        alpha_l1 = (2 - 2 * epoch / 10) * alpha_l1
    assert got == pytest.approx(used, rel=1e-12)
    assert REGISTRY["l1_sparse"].extra["alpha_schedule"] == "compound"  # the paper's numbers come from it


def test_l1_penalty_shrinks_weights(setup):
    plain = make_run(setup, "ft", epochs=2, lr=0.01)
    REGISTRY["ft"].run(plain)
    sparse = make_run(setup, "l1_sparse", epochs=2, lr=0.01, alpha=1e-3)
    REGISTRY["l1_sparse"].run(sparse)
    l1 = lambda m: sum(float(p.detach().abs().sum()) for p in m.parameters())  # noqa: E731
    assert l1(sparse.model) < l1(plain.model)


def test_resolve_hyper_precedence_and_errors():
    cfg = {
        "settings": ["with_retain", "forget_only"],
        "common": {"epochs": 10, "lr": 0.1},
        "methods": {
            "adv": {"method": "amun", "mixture": "advonly", "lr": 0.01, "forget_only": {"lr": 0.001}},
            "ft": None,
        },
    }
    m, hp = resolve_hyper(cfg, "adv", "with_retain")
    assert m == "amun" and hp["lr"] == 0.01 and hp["mixture"] == "advonly" and hp["epochs"] == 10
    assert resolve_hyper(cfg, "adv", "forget_only")[1]["lr"] == 0.001
    method, hp = resolve_hyper(cfg, "ft", "with_retain")
    defaults = section("unlearn.common")  # every shared key comes with the schema's default
    assert method == "ft" and hp == {**defaults, "epochs": 10, "lr": 0.1}
    cfg["methods"]["x"] = {"method": "nope"}
    with pytest.raises(UserError, match="unknown method 'nope'"):
        resolve_hyper(cfg, "x", "with_retain")
    cfg["methods"]["y"] = {"method": "ga", "mask_ratio": 0.5}
    with pytest.raises(UserError, match=r"unknown hyperparameter\(s\) \['mask_ratio'\]"):
        resolve_hyper(cfg, "y", "with_retain")


@pytest.mark.parametrize(
    "inst,match",
    [
        ({"method": "amun", "epochs": 0}, r"unlearn\.methods\.z\.epochs: 0 is less than the minimum of 1"),
        (
            {"method": "amun", "mixture": "bogus"},
            r"unlearn\.methods\.z\.mixture: 'bogus' is not one of \['full', 'advonly'\]",
        ),
        ({"method": "amun", "precision": "fp16"}, r"unlearn\.methods\.z\.precision: 'fp16' is not one of"),
        ({"method": "rl", "lr": "abc"}, r"unlearn\.methods\.z\.lr: 'abc' is not of type 'number'"),
        ({"method": "rl", "lr": -1}, r"unlearn\.methods\.z\.lr: -1 is less than or equal to the minimum of 0"),
        ({"method": "rl", "batch_size": 0}, r"unlearn\.methods\.z\.batch_size: 0 is less than the minimum"),
        ({"method": "salun", "mask_ratio": 2}, r"unlearn\.methods\.z\.mask_ratio: 2 is greater than the maximum of 1"),
        ({"method": "bs", "forget_only": {"teacher": "late"}}, r"unlearn\.methods\.z\.forget_only\.teacher: 'late'"),
    ],
)
def test_hyperparameter_values_are_checked_with_the_key_named(inst, match):
    cfg = {"settings": ["with_retain", "forget_only"], "common": {}, "methods": {"z": inst}}
    with pytest.raises(UserError, match=match):
        for setting in ("with_retain", "forget_only"):
            resolve_hyper(cfg, "z", setting)


def test_divergence_fails_the_run(setup):
    run = make_run(setup, "ga", "forget_only", epochs=3, lr=1e8)
    with pytest.raises(RuntimeError, match="diverged|non-finite"):
        REGISTRY["ga"].run(run)
