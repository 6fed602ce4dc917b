"""The baselines beyond the paper's (NG+, SCRUB, SSD, Bad Teacher, UNSIR, CF-k, EU-k, SFR-on): behaviour on a
tiny trained model, and written-out reference computations where the method is a formula."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from amunflow import UserError
from amunflow.hyper import resolve_hyper, settings_of
from amunflow.methods import REGISTRY
from amunflow.methods.bad_teacher import incompetent_teacher, kl_mean
from amunflow.methods.cfk import last_k
from amunflow.methods.euk import reinitialize
from amunflow.methods.scrub import distill_kl
from amunflow.methods.sfron import adaptive_ce
from amunflow.methods.unsir import channel_stats, error_maximizing_noise
from amunflow.models import build_model
from amunflow.unlearn import AccessError

from .test_methods import make_run, setup  # noqa: F401  (setup is a fixture)

NEW = ["ngplus", "scrub", "ssd", "bad_teacher", "unsir", "cfk", "euk", "sfron"]


def images(data, idx):
    return torch.as_tensor(data.train_x[idx]).float() / 255


def mean_ce(model, data, idx):
    model.eval()
    with torch.no_grad():
        return float(F.cross_entropy(model(images(data, idx)), torch.as_tensor(data.train_y[idx]).long()))


def logits(model, data, idx):
    model.eval()
    with torch.no_grad():
        return model(images(data, idx))


def assert_same_state(model, ref):
    """Every floating entry of the two models' state dicts equal up to float rounding."""
    for (n, a), b in zip(model.state_dict().items(), ref.state_dict().values(), strict=True):
        if a.is_floating_point():
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=n)


def assert_same_after_adam(model, ref, lr):
    """As :func:`assert_same_state` after Adam steps: Adam's first step divides each gradient entry by its
    own size, so an entry whose gradient is float noise moves by a part of lr either way; allow a few (one
    in a small tensor)."""
    for (n, a), b in zip(model.state_dict().items(), ref.state_dict().values(), strict=True):
        if a.is_floating_point():
            d = (a - b).abs()
            assert float(d.max()) <= 0.1 * lr and int((d > 1e-5 + 1e-4 * b.abs()).sum()) <= max(1, 1e-3 * d.numel()), n


def test_ngplus_one_epoch_is_the_written_out_loop(setup):  # noqa: F811
    data, model, forget, retain, _ = setup
    run = make_run(setup, "ngplus", epochs=1, lr=0.02, alpha=0.8, batch_size=48)
    ref = copy.deepcopy(run.model).eval()
    # the written-out loop: eval-mode BN, raw images, D_F batches cycled under the D_R pass
    gen = torch.Generator().manual_seed(run.seed)
    pf = torch.randperm(len(forget), generator=gen)  # the D_F pass is drawn first, then the D_R pass
    pr = torch.randperm(len(retain), generator=gen)
    fb = [pf[i : i + 48] for i in range(0, len(forget), 48)]
    xf_all, yf_all = images(data, forget), torch.as_tensor(data.train_y[forget]).long()
    xr_all, yr_all = images(data, retain), torch.as_tensor(data.train_y[retain]).long()
    opt = torch.optim.SGD(ref.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    for j, i in enumerate(range(0, len(retain), 48)):
        r_idx, f_idx = pr[i : i + 48], fb[j % len(fb)]
        loss = 0.8 * F.cross_entropy(ref(xr_all[r_idx]), yr_all[r_idx]) - 0.2 * F.cross_entropy(
            ref(xf_all[f_idx]), yf_all[f_idx]
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    REGISTRY["ngplus"].run(run)
    assert_same_state(run.model, ref)
    assert run.stats["sample_steps"] == REGISTRY["ngplus"].cost("with_retain", run.hp.__dict__, 40, 200)


def test_ngplus_lowers_retain_loss_and_raises_forget_loss(setup):  # noqa: F811
    data, _, forget, retain, _ = setup
    # (this toy network trains unstably with BN frozen above lr ~0.005, so the lr is small)
    run = make_run(setup, "ngplus", epochs=3, lr=0.003, alpha=0.85)
    before = mean_ce(run.model, data, retain), mean_ce(run.model, data, forget)
    REGISTRY["ngplus"].run(run)
    after = mean_ce(run.model, data, retain), mean_ce(run.model, data, forget)
    assert after[0] < before[0] - 0.02 and after[1] > before[1] + 0.05, (before, after)


def test_distill_kl_is_the_per_sample_formula():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    T = 4.0
    by_hand = 0.0
    for i in range(5):
        ps = [math.exp(v / T) for v in s[i].tolist()]
        pt = [math.exp(v / T) for v in t[i].tolist()]
        ps, pt = [v / sum(ps) for v in ps], [v / sum(pt) for v in pt]
        by_hand += sum(b * (math.log(b) - math.log(a)) for a, b in zip(ps, pt, strict=True))
    assert float(distill_kl(s, t, T)) == pytest.approx(by_hand / 5 * T**2, rel=1e-5)
    # Bad Teacher's: the same divergence at T, averaged over batch x classes, no T^2
    assert float(kl_mean(s, t, T)) == pytest.approx(by_hand / 5 / 7, rel=1e-5)


def test_scrub_max_steps_raise_the_kl_to_the_teacher_on_forget(setup):  # noqa: F811
    data, model, forget, retain, _ = setup
    # min steps switched off (zero weights, no momentum or decay): what moves is the max steps' doing
    run = make_run(setup, "scrub", epochs=1, msteps=1, alpha=0.0, gamma=0.0, lr=0.05, momentum=0.0, weight_decay=0.0)
    teacher = logits(model, data, forget)
    REGISTRY["scrub"].run(run)
    kl_forget = float(distill_kl(logits(run.model, data, forget), teacher, 4.0))
    assert kl_forget > 0.05
    # and with msteps 0 the same run leaves the weights where they were
    still = make_run(setup, "scrub", epochs=1, msteps=0, alpha=0.0, gamma=0.0, lr=0.05, momentum=0.0, weight_decay=0.0)
    REGISTRY["scrub"].run(still)
    for a, b in zip(still.model.parameters(), model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert run.stats["sample_steps"] == REGISTRY["scrub"].cost("with_retain", run.hp.__dict__ | run.hp.extra, 40, 200)


def test_scrub_five_epochs_are_the_notebook_s_written_out_loop(setup):  # noqa: F811
    """MIA_experiments.ipynb with loops.train_distill and DistillKL, written out on batches that hold the
    whole of D_F and D_R (order-free): one SGD optimizer (momentum 0.9, weight decay 5e-4) shared by the
    max and min steps, sgda_adjust_learning_rate with lr_decay_epochs [3, 5, 9] over epochs 1..5, max
    steps in the first msteps epochs (-KL), then min steps (gamma CE + alpha KL), student in train mode,
    teacher in eval mode, KL(p_t || p_s) summed over classes and the batch, x T^2 / batch."""
    data, model, forget, retain, _ = setup
    lr, T, alpha, gamma, msteps, epochs = 0.01, 4.0, 0.5, 1.0, 3, 5
    run = make_run(
        setup, "scrub", epochs=epochs, lr=lr, lr_step=3, momentum=0.9, weight_decay=5e-4, batch_size=256,
        forget_batch_size=64, kd_T=T, alpha=alpha, gamma=gamma, msteps=msteps,
    )  # fmt: skip
    student, teacher = copy.deepcopy(run.model), copy.deepcopy(run.model).eval()
    opt = torch.optim.SGD(student.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    x_f, x_r = images(data, forget), images(data, retain)
    y_r = torch.as_tensor(data.train_y[retain]).long()

    def kl(y_s, y_t):
        return F.kl_div(F.log_softmax(y_s / T, dim=1), F.softmax(y_t / T, dim=1), reduction="sum") * T**2 / len(y_s)

    for epoch in range(1, epochs + 1):
        for g in opt.param_groups:
            g["lr"] = lr * 0.1 ** sum(epoch > m for m in (3, 5, 9))
        phases = ([("maximize", x_f, None)] if epoch <= msteps else []) + [("minimize", x_r, y_r)]
        for split, x, y in phases:
            student.train()
            logit_s = student(x)
            with torch.no_grad():
                logit_t = teacher(x)
            loss = gamma * F.cross_entropy(logit_s, y) + alpha * kl(logit_s, logit_t) if y is not None else 0
            loss = -kl(logit_s, logit_t) if split == "maximize" else loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    REGISTRY["scrub"].run(run)
    assert_same_state(run.model, student)


def test_scrub_min_steps_keep_the_student_near_the_teacher_on_retain(setup):  # noqa: F811
    data, model, forget, retain, _ = setup
    run = make_run(setup, "scrub", epochs=3, msteps=1, lr=0.01, batch_size=32, forget_batch_size=16)
    REGISTRY["scrub"].run(run)
    kl_r = float(distill_kl(logits(run.model, data, retain), logits(model, data, retain), 4.0))
    kl_f = float(distill_kl(logits(run.model, data, forget), logits(model, data, forget), 4.0))
    assert kl_f > kl_r


def test_ssd_dampens_exactly_the_selected_entries_and_takes_no_step(setup):  # noqa: F811
    data, model, forget, retain, _ = setup
    alpha, lam = 5.0, 0.5
    # one batch per pass, so each importance is the squared gradient of the mean CE over the whole set
    run = make_run(setup, "ssd", batch_size=1000, selection_weighting=alpha, dampening_constant=lam)
    ref = copy.deepcopy(run.model).eval()

    def sq_grad(idx):
        ref.zero_grad()
        F.cross_entropy(ref(images(data, idx)), torch.as_tensor(data.train_y[idx]).long()).backward()
        return {n: p.grad.detach() ** 2 for n, p in ref.named_parameters()}

    imp_f = sq_grad(forget)
    imp_d = sq_grad(torch.cat([torch.as_tensor(retain), torch.as_tensor(forget)]).numpy())
    before = {n: p.detach().clone() for n, p in ref.named_parameters()}
    REGISTRY["ssd"].run(run)
    after = dict(run.model.named_parameters())
    n_sel = n_kept = 0
    for n, p0 in before.items():
        sel = imp_f[n] > alpha * imp_d[n]
        expect = p0 * torch.where(sel, torch.clamp(lam * imp_d[n] / imp_f[n], max=1.0), torch.ones_like(p0))
        torch.testing.assert_close(after[n].detach(), expect, rtol=1e-4, atol=1e-7, msg=n)
        assert torch.equal(after[n].detach()[~sel], p0[~sel]), n  # unselected entries: bit-identical
        n_sel, n_kept = n_sel + int(sel.sum()), n_kept + int((~sel).sum())
    assert n_sel > 0 and n_kept > 0 and run.stats["dampened"] == n_sel
    assert run.stats["sample_steps"] == 0  # no gradient step
    assert run.stats["extra_grad_evals"] == REGISTRY["ssd"].cost("with_retain", {}, len(forget), len(retain))
    for (n, b), b0 in zip(run.model.named_buffers(), model.buffers(), strict=True):
        assert torch.equal(b, b0), n  # BN statistics untouched (eval mode)


def test_ssd_importances_walk_d_as_the_reference_loader_over_several_batches(setup):  # noqa: F811
    """imp_D as the reference's unshuffled full_train_dl: D_R in one random order, then D_F (the last
    batches pure forget batches), batches of 16 (15 over D, 3 over D_F, a partial one each), written out
    loop by loop; a shuffled pass (the old code) mixes D_F into every batch and selects otherwise."""
    data, model, forget, retain, _ = setup
    alpha, lam, bs = 10.0, 1.0, 16
    run = make_run(setup, "ssd", batch_size=bs, selection_weighting=alpha, dampening_constant=lam)
    ref = copy.deepcopy(run.model).eval()

    def importance(order):  # written out: a DataLoader(batch_size=bs, shuffle=False) over ``order``
        total, batches = None, 0
        for i in range(0, len(order), bs):
            idx = order[i : i + bs]
            ref.zero_grad()
            F.cross_entropy(ref(images(data, idx)), torch.as_tensor(data.train_y[idx]).long()).backward()
            sq = {n: p.grad.detach() ** 2 for n, p in ref.named_parameters()}
            total = sq if total is None else {n: total[n] + sq[n] for n in sq}
            batches += 1
        return {n: v / batches for n, v in total.items()}, batches

    imp_f, nb_f = importance(list(forget))
    perm = torch.randperm(len(retain), generator=torch.Generator().manual_seed(run.seed)).numpy()
    imp_d, nb_d = importance(list(retain[perm]) + list(forget))
    assert (nb_f, nb_d) == (3, 15)
    before = {n: p.detach().clone() for n, p in ref.named_parameters()}
    REGISTRY["ssd"].run(run)
    after = dict(run.model.named_parameters())
    for n, p0 in before.items():
        sel = imp_f[n] > alpha * imp_d[n]
        expect = p0 * torch.where(sel, torch.clamp(lam * imp_d[n] / imp_f[n], max=1.0), torch.ones_like(p0))
        torch.testing.assert_close(after[n].detach(), expect, rtol=1e-4, atol=1e-7, msg=n)


def test_bad_teacher_pulls_forget_outputs_to_the_random_teacher(setup):  # noqa: F811
    data, model, forget, retain, _ = setup
    run = make_run(setup, "bad_teacher", epochs=4, lr=1e-3, batch_size=32)
    bad = incompetent_teacher(model, run.seed + 104729)
    # the incompetent teacher: same architecture, fresh weights, reproducible from the seed
    again = incompetent_teacher(model, run.seed + 104729)
    for a, b, c in zip(bad.parameters(), again.parameters(), model.parameters(), strict=True):
        assert torch.equal(a, b) and a.shape == c.shape and not torch.equal(a, c)
    t_bad, t_good = logits(bad, data, forget), logits(model, data, forget)
    REGISTRY["bad_teacher"].run(run)
    s_forget = logits(run.model, data, forget)
    assert kl_mean(s_forget, t_bad, 1.0) < 0.5 * kl_mean(logits(model, data, forget), t_bad, 1.0)
    assert kl_mean(s_forget, t_good, 1.0) > 0.01
    # on D_R the targets are the original's: the student stays close to it there
    s_retain, g_retain = logits(run.model, data, retain), logits(model, data, retain)
    assert kl_mean(s_retain, g_retain, 1.0) < kl_mean(s_forget, t_good, 1.0)
    n_retain_seen = max(1, round(0.3 * len(retain)))
    assert run.stats["seen"] == {"forget": 4 * len(forget), "retain": 4 * n_retain_seen}


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")  # the reference's reduction
def test_bad_teacher_is_the_authors_written_out_loop(setup):  # noqa: F811
    """unlearn.py's UnlearnerLoss and unlearning_step, written out on one batch of D_F and all of D_R
    (retain_share 1: order-free): the target is the incompetent teacher's softmax(./T) for D_F samples
    (label 1) and the original's for D_R (label 0), F.kl_div(log_softmax(student/T), target) with its
    default mean reduction (no T^2), student in train mode, Adam."""
    data, model, forget, retain, _ = setup
    lr, T = 1e-3, 2.0
    run = make_run(setup, "bad_teacher", epochs=1, lr=lr, kd_T=T, retain_share=1.0, batch_size=256, weight_decay=0.0)
    student = copy.deepcopy(run.model)
    full_teacher = copy.deepcopy(run.model).eval()
    unlearn_teacher = incompetent_teacher(run.model, run.seed + 104729)
    x = torch.cat([images(data, forget), images(data, retain)])
    labels = torch.cat([torch.ones(len(forget)), torch.zeros(len(retain))]).unsqueeze(1)
    with torch.no_grad():
        f_out = F.softmax(full_teacher(x) / T, dim=1)
        u_out = F.softmax(unlearn_teacher(x) / T, dim=1)
    overall = labels * u_out + (1 - labels) * f_out
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    student.train()
    loss = F.kl_div(F.log_softmax(student(x) / T, dim=1), overall)
    opt.zero_grad()
    loss.backward()
    opt.step()
    REGISTRY["bad_teacher"].run(run)
    assert_same_after_adam(run.model, student, lr)


def test_unsir_noise_raises_the_loss_of_its_labels(setup):  # noqa: F811
    data, model, forget, retain, _ = setup
    run = make_run(setup, "unsir", noise_steps=20)
    y = torch.as_tensor(data.train_y[forget]).long()
    mean, std = channel_stats(torch.as_tensor(data.train_x[retain]))
    start = torch.randn((len(y), 3, 16, 16), generator=torch.Generator().manual_seed(run.seed + 7))
    z = error_maximizing_noise(run.model, y, start, mean, std, run.hp.extra, 32)
    with torch.no_grad():
        ce = lambda z: float(F.cross_entropy(run.model.eval()(mean + std * z), y))  # noqa: E731
        assert ce(z) > ce(start) + 0.5
    assert all(p.requires_grad for p in run.model.parameters())
    full = make_run(setup, "unsir", noise_steps=5, lr=1e-3)
    REGISTRY["unsir"].run(full)
    assert full.stats["extra_grad_evals"] == 5 * len(y)
    assert full.stats["sample_steps"] + full.stats["extra_grad_evals"] == REGISTRY["unsir"].cost(
        "with_retain", full.hp.__dict__ | full.hp.extra, len(forget), 200
    )


def test_unsir_is_the_ssd_repository_s_loop_written_out(setup):  # noqa: F811
    """forget_full_class_strategies.UNSIR with unlearn.UNSIR_noise_train, UNSIR_create_noisy_loader and
    training_utils.fit_one_unlearning_cycle, written out on inputs small enough for one batch per phase
    (order-free): the noise z ~ N(0, 1) in normalized space, the model in train mode while it is learned
    (its BatchNorm statistics follow the noise), Adam(lr 0.1) on -CE + 0.1 mean ||z||^2; one impair
    step, Adam(lr) on CE over the noise and the class-balanced D_R subset in train mode; one repair step
    with a fresh Adam over the subset. D_R's Normalize constants come from numpy."""
    data, _, forget, retain, _ = setup
    lr, steps = 1e-3, 6
    run = make_run(
        setup, "unsir", epochs=1, lr=lr, noise_steps=steps, batch_size=256, repair_batch_size=256, weight_decay=0.0
    )
    ref = copy.deepcopy(run.model)
    flat = data.train_x[retain].astype("float64") / 255
    mean = torch.tensor(flat.mean(axis=(0, 2, 3)), dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(flat.std(axis=(0, 2, 3)), dtype=torch.float32).view(1, 3, 1, 1)
    y_f = torch.as_tensor(data.train_y[forget]).long()
    z = torch.randn((len(forget), 3, 16, 16), generator=torch.Generator().manual_seed(run.seed + 7))
    z.requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.1)
    for _ in range(steps):  # UNSIR_noise_train: inputs = noise(); the model's mode is left as it is (train)
        ref.train()
        loss = -F.cross_entropy(ref(mean + std * z), y_f) + 0.1 * torch.mean(torch.sum(z**2, [1, 2, 3]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    noisy_x = torch.cat([(mean + std * z).detach(), images(data, retain)])
    noisy_y = torch.cat([y_f, torch.as_tensor(data.train_y[retain]).long()])
    for x, y in ((noisy_x, noisy_y), (images(data, retain), torch.as_tensor(data.train_y[retain]).long())):
        opt = torch.optim.Adam(ref.parameters(), lr=lr)  # fit_one_unlearning_cycle: a fresh Adam per phase
        ref.train()
        loss = F.cross_entropy(ref(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    REGISTRY["unsir"].run(run)
    assert_same_after_adam(run.model, ref, lr)
    moved = run.model.bn1.running_mean - copy.deepcopy(setup[1]).bn1.running_mean
    assert moved.abs().max() > 1e-3  # the statistics followed the noise and the impair batch


def test_unsir_takes_a_class_balanced_subset_and_learns_noise_in_batches(setup):  # noqa: F811
    from amunflow.methods.unsir import per_class_subset
    from amunflow.unlearn import Part

    data, model, forget, retain, _ = setup
    y = torch.as_tensor(data.train_y[retain]).long()
    part = Part("retain", torch.as_tensor(data.train_x[retain]), y, False)
    sub = per_class_subset(part, 7, torch.Generator().manual_seed(0))
    assert torch.bincount(sub.y, minlength=4).tolist() == [7, 7, 7, 7]
    rows = {tuple(r) for r in part.x.flatten(1).tolist()}
    assert all(tuple(r) in rows for r in sub.x.flatten(1).tolist())  # samples of D_R, labels kept
    # batches of 8 with summed gradients: each noise image sees only its own batch (eval-mode BN, so
    # the batches are independent): the same as learning each batch alone
    y_f = torch.as_tensor(data.train_y[forget]).long()[:16]
    z0 = torch.randn((16, 3, 16, 16), generator=torch.Generator().manual_seed(1))
    mean, std = torch.full((1, 3, 1, 1), 0.5), torch.full((1, 3, 1, 1), 0.25)
    ex = {"noise_steps": 3, "noise_lr": 0.1, "noise_reg": 0.1, "noise_model_mode": "eval"}
    net = copy.deepcopy(model)
    both = error_maximizing_noise(net, y_f, z0, mean, std, ex, 8)
    alone = torch.cat([error_maximizing_noise(net, y_f[i : i + 8], z0[i : i + 8], mean, std, ex, 8) for i in (0, 8)])
    torch.testing.assert_close(both, alone)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), model.state_dict().values(), strict=True))


@pytest.mark.parametrize("method", ["cfk", "euk"])
@pytest.mark.parametrize("k", [1, 2])
def test_last_k_leaves_the_first_layers_bit_identical(setup, method, k):  # noqa: F811
    data, model, _, _, _ = setup
    run = make_run(setup, method, k=k, lr=0.05)
    before = copy.deepcopy(run.model.state_dict())
    REGISTRY[method].run(run)
    after = run.model.state_dict()
    trained_prefixes = [f"layer{i}." for i in range(5 - k, 5)] + ["linear."]
    for name, value in after.items():
        trained = any(name.startswith(p) for p in trained_prefixes)
        if not trained:
            assert torch.equal(value, before[name]), name  # includes the BN statistics
        elif name.endswith("running_mean") or name.endswith("running_var") or "num_batches" in name:
            assert torch.equal(value, before[name]), name  # BN on running statistics, never updated
    moved = [n for n, p in run.model.named_parameters() if not torch.equal(p.detach(), before[n])]
    assert moved and all(any(n.startswith(p) for p in trained_prefixes) for n in moved)
    assert all(p.requires_grad for p in run.model.parameters())  # frozen only for the run


def deep_unlearn_last_k(ref, x, y, lr, prox, epochs) -> list[float]:
    """catastrophic_forgetting_k.py + scrub_utils.fk_finetune written out on layer4 and the classifier:
    plain SGD, BN on running statistics, one batch (order-free), CE + prox / 2 * ||theta - theta_0||^2,
    util.adjust_learning_rate's lr x0.1 after epochs int(.5E), int(.8E), int(.9E). Returns the lrs."""
    trained = [p for m in (ref.layer4, ref.linear) for p in m.parameters()]
    anchor = [p.detach().clone() for p in trained]
    opt = torch.optim.SGD(trained, lr=lr, momentum=0.0, weight_decay=0.0)
    lrs = []
    for epoch in range(epochs):
        lrs.append(lr * 0.1 ** sum(epoch > m for m in (int(0.5 * epochs), int(0.8 * epochs), int(0.9 * epochs))))
        for g in opt.param_groups:
            g["lr"] = lrs[-1]
        ref.eval()
        pull = sum(((p - a) ** 2).sum() for p, a in zip(trained, anchor, strict=True))
        loss = F.cross_entropy(ref(x), y) + prox / 2 * pull
        opt.zero_grad()
        loss.backward()
        opt.step()
    return lrs


def test_cfk_ten_epochs_are_deep_unlearns_written_out_loop(setup):  # noqa: F811
    """CF-k against the written-out loop on unaugmented D_R: 6 epochs at lr, 3 at lr/10, 1 at lr/100
    (StepLR(lr_step) would keep lr for 10 epochs)."""
    data, model, _, retain, _ = setup
    lr, prox = 0.05, 0.1
    run = make_run(setup, "cfk", epochs=10, lr=lr, momentum=0.0, weight_decay=0.0, k=1, prox=prox, batch_size=256)
    ref = copy.deepcopy(run.model)
    x, y = images(data, retain), torch.as_tensor(data.train_y[retain]).long()
    lrs = deep_unlearn_last_k(ref, x, y, lr, prox, 10)
    assert lrs == pytest.approx([lr] * 6 + [lr / 10] * 3 + [lr / 100])
    REGISTRY["cfk"].run(run)
    assert_same_state(run.model, ref)


def test_euk_five_epochs_are_deep_unlearns_written_out_loop(setup):  # noqa: F811
    """exact_unlearning_k.py: the last stage and the classifier re-initialised (init_weights), then CF-k's
    written-out loop on them over D_R (the augmentation switched off so that the order-free loop can be
    written out), pulled towards the re-initialised values; 5 epochs: 3 at lr, 2 at lr/10."""
    data, _, _, retain, _ = setup
    lr, prox, epochs = 0.05, 0.1, 5
    run = make_run(
        setup, "euk", epochs=epochs, lr=lr, momentum=0.0, weight_decay=0.0, k=1, prox=prox, batch_size=256,
        crop_padding=0, flip=False,
    )  # fmt: skip
    ref = copy.deepcopy(run.model)
    reinitialize([ref.layer4, ref.linear], seed=run.seed + 31)
    x, y = images(data, retain), torch.as_tensor(data.train_y[retain]).long()
    assert deep_unlearn_last_k(ref, x, y, lr, prox, epochs) == pytest.approx([lr] * 3 + [lr / 10] * 2)
    REGISTRY["euk"].run(run)
    assert_same_state(run.model, ref)


def test_euk_reinitializes_with_deep_unlearns_init():
    torch.manual_seed(0)
    model = build_model({"arch": "resnet18", "width": 8}, 4)
    old = copy.deepcopy(model.state_dict())
    modules = last_k(model, 1)
    reinitialize(modules, seed=5)
    conv = model.layer4[0].conv1
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
    assert conv.weight.abs().max() <= math.sqrt(2) * math.sqrt(3 / fan_out) + 1e-7
    assert not torch.equal(conv.weight, old["layer4.0.conv1.weight"])
    lin = model.linear
    assert lin.weight.abs().max() <= math.sqrt(6 / (lin.in_features + lin.out_features)) + 1e-7
    assert torch.equal(lin.bias, torch.zeros_like(lin.bias))
    bn = model.layer4[0].bn1
    assert torch.equal(bn.weight, torch.ones_like(bn.weight)) and torch.equal(bn.bias, torch.zeros_like(bn.bias))
    assert torch.equal(bn.running_mean, old["layer4.0.bn1.running_mean"])  # statistics kept, as the reference
    assert torch.equal(model.layer3[0].conv1.weight, old["layer3.0.conv1.weight"])
    again = build_model({"arch": "resnet18", "width": 8}, 4)
    again.load_state_dict(old)
    reinitialize(last_k(again, 1), seed=5)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), model.state_dict().values(), strict=True))


def test_last_k_counts_stages_and_always_adds_the_classifier():
    resnet = build_model({"arch": "resnet18", "width": 8}, 4)
    assert last_k(resnet, 1) == [resnet.layer4, resnet.linear]
    assert last_k(resnet, 9) == [resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4, resnet.linear]
    vgg = build_model({"arch": "vgg19_bn", "width": 8}, 4)
    mods = last_k(vgg, 1)
    assert mods[-1] is vgg.classifier and isinstance(mods[-2], torch.nn.MaxPool2d)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in mods) == 4  # VGG-19's last group: 4 convolutions


@pytest.mark.parametrize("method", [m for m in NEW if REGISTRY[m].settings == ("with_retain",)])
def test_retain_only_methods_refuse_forget_only(setup, method):  # noqa: F811
    run = make_run(setup, method, "forget_only", epochs=1)
    with pytest.raises(AccessError):
        REGISTRY[method].run(run)
    cfg = {"settings": ["with_retain", "forget_only"], "common": {}, "methods": {"z": {"method": method}}}
    assert settings_of(cfg, "z") == ["with_retain"]
    cfg["methods"]["z"]["forget_only"] = {"lr": 0.1}
    with pytest.raises(UserError, match=r"unlearn\.methods\.z\.forget_only: .*needs the retain set"):
        resolve_hyper(cfg, "z", "forget_only")


def test_sfron_is_the_authors_written_out_loop(setup):  # noqa: F811
    """Classification/unlearn/sfron.py written out on batches that hold the whole of D_F and D_R (order-free),
    unaugmented: the Fisher-ratio mask from the original in eval mode, then per iteration a masked, clipped
    forget step every forget_freq-th (AdaptiveLoss ascended, alpha on its cosine) and a plain CE step on
    D_R, one SGD optimizer, CosineAnnealingLR(T_max=iters) stepped every iteration, BN in train mode."""
    data, model, forget, retain, _ = setup
    lr, iters, freq, alpha0, max_norm, lambd = 0.02, 7, 3, 2.0, 0.5, 0.5
    run = make_run(
        setup, "sfron", lr=lr, iters=iters, forget_freq=freq, forget_alpha=alpha0, max_norm=max_norm, lambd=lambd,
        batch_size=256, crop_padding=0, flip=False,
    )  # fmt: skip
    ref = copy.deepcopy(run.model)
    xf, yf = images(data, forget), torch.as_tensor(data.train_y[forget]).long()
    xr, yr = images(data, retain), torch.as_tensor(data.train_y[retain]).long()
    ref.eval()
    fisher = []
    for x, y in ((xf, yf), (xr, yr)):
        ref.zero_grad()
        F.cross_entropy(ref(x), y).backward()
        fisher.append({n: p.grad.detach() ** 2 for n, p in ref.named_parameters()})
    mask = {n: (fisher[0][n] + 1e-15) / (fisher[1][n] + 1e-15) >= 1.0 for n in fisher[0]}
    opt = torch.optim.SGD(ref.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iters)
    ref.train()
    for step in range(iters):
        if step % freq == 0:
            alpha = alpha0 * (1 + math.cos(math.pi * step / iters)) / 2
            losses = F.cross_entropy(ref(xf), yf, reduction="none")
            coef = 1 / (losses.detach() ** lambd + 1e-15)
            loss = -((coef / coef.sum()) * losses * len(yf)).mean()
            opt.zero_grad()
            (alpha * loss).backward()
            for n, p in ref.named_parameters():
                p.grad *= mask[n]
            torch.nn.utils.clip_grad_norm_(ref.parameters(), max_norm)
            opt.step()
        opt.zero_grad()
        F.cross_entropy(ref(xr), yr).backward()
        opt.step()
        sched.step()
    REGISTRY["sfron"].run(run)
    assert_same_state(run.model, ref)
    hp = run.hp.__dict__ | run.hp.extra
    assert run.stats["sample_steps"] + run.stats["extra_grad_evals"] == REGISTRY["sfron"].cost(
        "with_retain", hp, 40, 200
    )
    assert 0 < sum(float(m.sum()) for m in mask.values()) < sum(m.numel() for m in mask.values())  # a real mask


def test_sfron_adaptive_loss_weighs_well_fit_samples_more():
    out = torch.tensor([[4.0, 0.0], [0.5, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 0, 0])
    losses = F.cross_entropy(out, y, reduction="none")
    w = losses**-0.5 / (losses**-0.5).sum()
    assert float(adaptive_ce(out, y, 0.5)) == pytest.approx(float((w * losses).sum()), rel=1e-6)
    assert w[0] > w[1] > w[2]  # the best-fit sample (lowest loss) weighs most


def test_sfron_cost_counts_cycled_batches():
    # 40 forget / 200 retain images in batches of 64: D_R passes are [64, 64, 64, 8], D_F passes [40];
    # 7 iterations take D_R batches 64 x 3 + 8 + 64 x 3, forget steps at 0, 3, 6 take 40 each
    hp = {"batch_size": 64, "iters": 7, "forget_freq": 3}
    assert REGISTRY["sfron"].cost("with_retain", hp, 40, 200) == 240 + (64 * 3 + 8 + 64 * 3) + 3 * 40
