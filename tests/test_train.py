import json

import numpy as np
import pandas as pd
import pytest
import torch

from amunflow import UserError
from amunflow.checkpoint import load_checkpoint, load_model, save_checkpoint
from amunflow.data import save_bundle, synthetic
from amunflow.io import file_hash
from amunflow.jobs.train import import_original_job, read_state_dict, train_job
from amunflow.models import build_model
from amunflow.predict import accuracy, predict_logits
from amunflow.splits import make_split, save_split
from amunflow.train import TrainConfig, train

CPU = torch.device("cpu")


def test_training_lowers_loss_and_learns_synthetic_data():
    data = synthetic(n_train=512, n_test=256, num_classes=4, image_size=16, seed=0)
    torch.manual_seed(0)
    model = build_model({"arch": "resnet18", "width": 8}, 4)
    before = accuracy(model, torch.as_tensor(data.test_x), data.test_y, CPU)
    cfg = TrainConfig.from_config(dict(epochs=6, batch_size=64, lr=0.05, lr_step=4))
    res = train(model, data.train_x, data.train_y, cfg, seed=0, device=CPU, progress_file=False)
    losses = [r["loss"] for r in res.history]
    assert losses[-1] < 0.6 * losses[0]
    after = accuracy(model, torch.as_tensor(data.test_x), data.test_y, CPU)
    assert after > 70 and after > before + 20
    assert res.sample_steps == 6 * 512
    # StepLR(4, 0.1): lr 0.05 for epochs 1-4, 0.005 after
    assert [r["lr"] for r in res.history] == pytest.approx([0.05] * 4 + [0.005] * 2)


def test_training_is_deterministic_given_seed():
    data = synthetic(n_train=128, n_test=16, seed=1)
    cfg = TrainConfig.from_config(dict(epochs=2, batch_size=32, lr=0.05))

    def run(seed):
        torch.manual_seed(seed)
        m = build_model({"arch": "resnet18", "width": 4}, 4)
        train(m, data.train_x, data.train_y, cfg, seed=seed, device=CPU, progress_file=False)
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    a, b, c = run(3), run(3), run(4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_divergence_raises():
    data = synthetic(n_train=64, n_test=8, seed=2)
    m = build_model({"arch": "resnet18", "width": 4}, 4)
    with pytest.raises(RuntimeError, match="diverged"):
        train(
            m,
            data.train_x,
            data.train_y,
            TrainConfig.from_config(dict(epochs=3, lr=1e12, batch_size=32)),
            0,
            CPU,
            progress_file=False,
        )


def test_bf16_and_channels_last_paths_train():
    data = synthetic(n_train=128, n_test=64, seed=3)
    m = build_model({"arch": "resnet18", "width": 4}, 4).to(memory_format=torch.channels_last)
    cfg = TrainConfig.from_config(dict(epochs=2, batch_size=32, lr=0.05, precision="bf16", channels_last=True))
    res = train(m, data.train_x, data.train_y, cfg, 0, CPU, progress_file=False)
    assert np.isfinite(res.history[-1]["loss"])
    logits = predict_logits(m, torch.as_tensor(data.test_x), CPU, precision="bf16", channels_last=True)
    assert logits.dtype == torch.float32 and logits.shape == (64, 4)


def test_compile_switch_gives_the_eager_result():
    """train.compile and unlearn compile wrap the model in torch.compile: same updates as eager."""
    from torch import nn

    from amunflow.unlearn import Hyper, Part, Run, Trainer

    data = synthetic(n_train=64, n_test=8, num_classes=4, image_size=8, seed=4)

    def net():
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(256, 4)
        )

    def params(m):
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    eager, comp = net(), net()
    for m, flag in ((eager, False), (comp, True)):
        train(
            m,
            data.train_x,
            data.train_y,
            TrainConfig.from_config(dict(epochs=1, batch_size=16, lr=0.05, compile=flag)),
            0,
            CPU,
            progress_file=False,
        )
        part = Part("forget", torch.as_tensor(data.train_x[:32]), torch.as_tensor(data.train_y[:32]).long())
        tr = Trainer(
            Run(m, None, Hyper.from_dict(dict(lr=0.05, batch_size=16, compile=flag)), 0, CPU, progress_file=False)
        )
        tr.pass_over([part])
        tr.close()
    assert not torch.equal(params(eager), params(net()))
    torch.testing.assert_close(params(comp), params(eager), rtol=1e-4, atol=1e-5)


def test_predict_logits_is_the_eval_model_and_leaves_it_intact():
    data = synthetic(n_train=64, n_test=300, seed=5)
    torch.manual_seed(0)
    m = build_model({"arch": "resnet18", "width": 4}, 4)
    train(
        m,
        data.train_x,
        data.train_y,
        TrainConfig.from_config(dict(epochs=1, batch_size=32, lr=0.05)),
        0,
        CPU,
        progress_file=False,
    )
    before = {k: v.clone() for k, v in m.state_dict().items()}
    x = torch.as_tensor(data.test_x)
    with torch.no_grad():
        expected = m.eval()(x.float() / 255)
    for kw in ({}, {"batch_size": 7, "channels_last": False}):
        got = predict_logits(m, x, CPU, **kw)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
        assert torch.equal(got.argmax(1), expected.argmax(1))
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert any(isinstance(mod, torch.nn.BatchNorm2d) for mod in m.modules()) and not m.training


def test_train_job_retrain_uses_only_retain_and_writes_checkpoint(tmp_path):
    data = synthetic(n_train=200, n_test=50, seed=4)
    save_bundle(tmp_path / "d.h5", data)
    split = make_split({"kind": "random", "size": 0.2}, 1, data.train_y, data.classes)
    save_split(tmp_path / "s.h5", split, data.fingerprint())
    train_cfg = {"epochs": 2, "batch_size": 32, "lr": 0.05, "augment": {"crop_padding": 2, "flip": True}}
    meta = train_job(
        tmp_path / "d.h5",
        tmp_path / "s.h5",
        {"arch": "resnet18", "width": 4},
        train_cfg,
        5,
        "cpu",
        tmp_path / "m.pt",
        tmp_path / "h.csv",
        kind="retrain",
        progress_file=False,
    )
    assert meta["n_train"] == 160 and meta["sample_steps"] == 2 * 160
    assert meta["split_hash"] == split.hash and meta["dataset_fingerprint"] == data.fingerprint()
    side = json.loads((tmp_path / "m.json").read_text())
    assert side["seed"] == 5 and side["kind"] == "retrain" and side["wall_time_s"] > 0
    assert set(side["final_accuracy"]) == {"forget_acc", "retain_acc", "test_acc"}
    hist = pd.read_csv(tmp_path / "h.csv")
    assert list(hist["epoch"]) == [1, 2] and np.isnan(hist["test_acc"][0]) and not np.isnan(hist["test_acc"][1])
    model, _ = load_model(tmp_path / "m.pt")
    acc = accuracy(model, torch.as_tensor(data.test_x), data.test_y, CPU)
    assert acc == pytest.approx(side["final_accuracy"]["test_acc"])
    state, _ = load_checkpoint(tmp_path / "m.pt")
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_checkpoint_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    (tmp_path / "x.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(UserError, match="cannot be read .*records no content hash"):
        load_checkpoint(tmp_path / "x.pt")


def test_a_flipped_byte_in_a_checkpoint_is_refused_when_read(tmp_path):
    model = build_model({"arch": "resnet18", "width": 4}, num_classes=3, image_size=8)
    save_checkpoint(tmp_path / "m.pt", model, {"model": {"arch": "resnet18", "width": 4}})
    state, _ = load_checkpoint(tmp_path / "m.pt")
    raw = bytearray((tmp_path / "m.pt").read_bytes())
    raw[len(raw) // 2] ^= 0x01  # inside a weight tensor: torch.load would read it without complaint
    (tmp_path / "m.pt").write_bytes(bytes(raw))
    flipped = torch.load(tmp_path / "m.pt", weights_only=True)
    assert any(not torch.equal(flipped[k], state[k]) for k in state)  # the damage is silent to torch
    with pytest.raises(UserError, match=rf"checkpoint {tmp_path / 'm.pt'} cannot be read .*content hash"):
        load_checkpoint(tmp_path / "m.pt")


def test_unknown_train_key_rejected():
    with pytest.raises(UserError, match=r"config key train: .*'lrr' was unexpected"):
        TrainConfig.from_config({"epochs": 1, "lrr": 0.1})


def test_reference_logits_are_fp32_whatever_the_training_precision(tmp_path):
    """Target models are scored in fp32 (evaluate_job); the RMIA reference signal must be too, or the
    likelihood ratio measures bf16 rounding as well as membership."""
    from amunflow.data import population
    from amunflow.jobs.inputs import open_reference_logits
    from amunflow.jobs.rmia import keep_job, reference_job

    data = synthetic(n_train=96, n_test=32, num_classes=4, image_size=16, seed=2)
    save_bundle(tmp_path / "d.h5", data)
    keep_job(tmp_path / "d.h5", 2, 0, tmp_path / "keep.npy")
    train_cfg = {"epochs": 2, "batch_size": 32, "lr": 0.05, "precision": "bf16", "channels_last": True}
    reference_job(
        tmp_path / "d.h5",
        tmp_path / "keep.npy",
        0,
        {"arch": "resnet18", "width": 8},
        train_cfg,
        5,
        "cpu",
        tmp_path / "ref0.pt",
        tmp_path / "ref0.logits.npy",
        progress_file=False,
    )
    model, _ = load_model(tmp_path / "ref0.pt")
    x = torch.as_tensor(population(data)[0])
    saved = np.load(tmp_path / "ref0.logits.npy")
    np.testing.assert_array_equal(saved, predict_logits(model, x, CPU).numpy())
    assert not np.array_equal(saved, predict_logits(model, x, CPU, precision="bf16").numpy())
    opened = open_reference_logits([tmp_path / "ref0.logits.npy"], data, len(x), 4)
    np.testing.assert_array_equal(opened[0], saved)
    raw = bytearray((tmp_path / "ref0.logits.npy").read_bytes())
    raw[-5] ^= 0x10  # one logit's bits: still a finite float of the right shape
    (tmp_path / "ref0.logits.npy").write_bytes(bytes(raw))
    assert np.isfinite(np.load(tmp_path / "ref0.logits.npy")).all()
    with pytest.raises(UserError, match=r"reference logits .*ref0.logits.npy .*content hash"):
        open_reference_logits([tmp_path / "ref0.logits.npy"], data, len(x), 4)


def test_learning_rate_schedules_against_independent_references():
    from amunflow.train import lr_factor

    def torch_lrs(make, steps, lr):
        opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=lr, momentum=0.9)
        sched, out = make(opt), []
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    # onecycle is torch's OneCycleLR with linear phases and no momentum cycling
    cfg = TrainConfig.from_config({"epochs": 6, "lr": 0.2, "schedule": "onecycle", "warmup": 0.25})
    f = lr_factor(cfg, 7)
    want = torch_lrs(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o, max_lr=0.2, total_steps=42, pct_start=0.25, anneal_strategy="linear", cycle_momentum=False
        ),
        42,
        0.2,
    )
    assert [0.2 * f(t) for t in range(42)] == pytest.approx(want, rel=1e-9, abs=1e-15)
    # cosine by hand: 2 warm-up steps of 4 epochs x 2 steps, then half a cosine over the other 6
    cfg = TrainConfig.from_config({"epochs": 4, "lr": 0.1, "schedule": "cosine", "warmup": 0.25})
    f = lr_factor(cfg, 2)
    hand = [0.5, 1.0] + [0.5 * (1 + np.cos(np.pi * k / 6)) for k in range(6)]
    assert [f(t) for t in range(8)] == pytest.approx(hand)
    # step: torch's StepLR, held for whole epochs
    cfg = TrainConfig.from_config({"epochs": 5, "lr": 0.1, "lr_step": 2, "lr_gamma": 0.1})
    f = lr_factor(cfg, 3)
    per_epoch = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.1), 5, 0.1)
    assert [0.1 * f(t) for t in range(0, 15, 3)] == pytest.approx(per_epoch)
    assert {f(t) for t in (3, 4, 5)} == {f(3)}


def test_the_training_loop_follows_the_schedule_step_by_step():
    data = synthetic(n_train=64, n_test=8, num_classes=4, image_size=8, seed=1)
    torch.manual_seed(0)
    m = build_model({"arch": "resnet18", "width": 4}, 4, 8)
    cfg = TrainConfig.from_config(
        {"epochs": 4, "batch_size": 16, "lr": 0.2, "schedule": "onecycle", "warmup": 0.25, "nesterov": True}
    )
    res = train(m, data.train_x, data.train_y, cfg, 0, CPU, progress_file=False)
    from amunflow.train import lr_factor

    f = lr_factor(cfg, 4)  # 64 images / batch 16
    assert [r["lr"] for r in res.history] == pytest.approx([0.2 * f(4 * e) for e in range(4)])


def test_batch_bounds_even_or_as_the_papers_loader():
    from amunflow.train import batch_bounds

    even = batch_bounds(2700, 128, True)
    sizes = [b - a for a, b in zip(even, even[1:], strict=False)]
    assert len(sizes) == 22 and set(sizes) == {122, 123} and sum(sizes) == 2700 and even[0] == 0
    ragged = batch_bounds(2700, 128, False)
    sizes = [b - a for a, b in zip(ragged, ragged[1:], strict=False)]
    assert sizes == [128] * 21 + [12]  # torch's DataLoader(batch_size=128), drop_last False
    assert batch_bounds(256, 128, True) == batch_bounds(256, 128, False) == [0, 128, 256]
    assert batch_bounds(50000, 128, False)[-2:] == [49920, 50000]  # the paper's last batch of 80


def test_a_users_own_original_is_imported_checked_and_scored(tmp_path):
    """originals.path: the user's weights (a checkpoint dict from DataParallel, a plain state_dict) become
    the original exactly; its accuracies are those of a plain forward pass; a file for another network
    or another class count is refused naming the tensors."""
    data = synthetic(n_train=64, n_test=32, num_classes=4, image_size=16)
    save_bundle(tmp_path / "d.h5", data)
    cfg = {"arch": "resnet18", "width": 4}
    torch.manual_seed(3)
    theirs = build_model(cfg, 4, 16)
    with torch.no_grad():  # BN statistics of their own, so a wrong load would show
        for m in theirs.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    wrapped = {"epoch": 30, "state_dict": {f"module.{k}": v for k, v in theirs.state_dict().items()}}
    torch.save(wrapped, tmp_path / "theirs.pth")
    torch.save(theirs.state_dict(), tmp_path / "plain.pt")
    assert read_state_dict(tmp_path / "plain.pt").keys() == theirs.state_dict().keys()
    sha = file_hash(tmp_path / "theirs.pth", length=64)
    meta = import_original_job(tmp_path / "d.h5", tmp_path / "theirs.pth", sha, cfg, 1, "cpu", tmp_path / "o.pt")
    state, side = load_checkpoint(tmp_path / "o.pt")
    for k, v in theirs.state_dict().items():
        assert torch.equal(state[k], v), k
    theirs.eval()
    with torch.no_grad():  # the reference: a plain forward pass, no BN folding, no batching
        for split in ("train", "test"):
            x = torch.from_numpy(getattr(data, f"{split}_x")).float() / 255
            ref = 100.0 * (theirs(x).argmax(1).numpy() == getattr(data, f"{split}_y")).mean()
            assert side["final_accuracy"][f"{split}_acc"] == pytest.approx(ref)
    assert meta["kind"] == "original" and side["imported_sha256"] == sha and side["sample_steps"] == 0
    # the wrong network or class count: one sentence naming the tensors
    torch.save(build_model(cfg, 10, 16).state_dict(), tmp_path / "ten.pt")
    ten = file_hash(tmp_path / "ten.pt", length=64)
    with pytest.raises(UserError, match=r"wrong shape: linear\.weight \(10, 32\) \(expected \(4, 32\)\)"):
        import_original_job(tmp_path / "d.h5", tmp_path / "ten.pt", ten, cfg, 1, "cpu", tmp_path / "x.pt")
    torch.save({"net": build_model({"arch": "vgg19_bn", "width": 4}, 4, 32).state_dict()}, tmp_path / "vgg.pt")
    vgg = file_hash(tmp_path / "vgg.pt", length=64)
    with pytest.raises(UserError, match=r"does not fit the configured resnet18 width 4 .*missing: conv1\.weight"):
        import_original_job(tmp_path / "d.h5", tmp_path / "vgg.pt", vgg, cfg, 1, "cpu", tmp_path / "x.pt")
    torch.save({"epoch": 3, "opt": {"lr": torch.tensor(0.1)}}, tmp_path / "nostate.pt")
    with pytest.raises(UserError, match=r"no state_dict under any of"):
        read_state_dict(tmp_path / "nostate.pt")
    torch.save(theirs, tmp_path / "module.pt")  # a whole pickled module: not read (it could run code)
    with pytest.raises(UserError, match=r"cannot be read as a PyTorch weights file"):
        read_state_dict(tmp_path / "module.pt")
    with pytest.raises(UserError, match="changed after the workflow was planned"):
        import_original_job(tmp_path / "d.h5", tmp_path / "plain.pt", sha, cfg, 1, "cpu", tmp_path / "x.pt")


def test_a_torchvision_model_can_be_the_original(tmp_path):
    """model.arch: torchvision.<name> builds torchvision's own classifier, so a torchvision user's
    weights load as they are (and score as a plain forward pass of their model does)."""
    import torchvision

    data = synthetic(n_train=48, n_test=16, num_classes=4, image_size=32)
    save_bundle(tmp_path / "d.h5", data)
    torch.manual_seed(0)
    theirs = torchvision.models.resnet18(num_classes=4).eval()
    torch.save(theirs.state_dict(), tmp_path / "tv.pt")
    sha = file_hash(tmp_path / "tv.pt", length=64)
    cfg = {"arch": "torchvision.resnet18"}
    import_original_job(tmp_path / "d.h5", tmp_path / "tv.pt", sha, cfg, 1, "cpu", tmp_path / "o.pt")
    state, side = load_checkpoint(tmp_path / "o.pt")
    assert state.keys() == theirs.state_dict().keys() and torch.equal(state["fc.weight"], theirs.fc.weight)
    with torch.no_grad():
        ref = 100.0 * (theirs(torch.from_numpy(data.test_x).float() / 255).argmax(1).numpy() == data.test_y).mean()
    assert side["final_accuracy"]["test_acc"] == pytest.approx(ref)
    with pytest.raises(UserError, match=r"model\.arch: torchvision has no classifier 'resnet17'"):
        build_model({"arch": "torchvision.resnet17"}, 4, 32)
