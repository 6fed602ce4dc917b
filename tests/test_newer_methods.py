"""The methods published since AMUN beyond SFR-on (issue #28): SCAR against its reference loop written
out (jbonato1/SCAR, src/Unlearning_methods.py ``SCAR.run`` in HR mode, src/dsets.py ``get_surrogate``)."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from amunflow import UserError
from amunflow.methods import REGISTRY
from amunflow.methods.scar import class_statistics, shrink
from amunflow.metrics import rf_jsd
from amunflow.unlearn import AccessError

from .test_baselines import assert_same_after_adam
from .test_methods import make_run, setup  # noqa: F401  (setup is a fixture)

CPU = torch.device("cpu")


def backbone(m, x):
    """The reference's ``bbone``: everything of the CIFAR ResNet-18 before its classifier, flattened."""
    out = F.relu(m.bn1(m.conv1(x)))
    out = m.layer4(m.layer3(m.layer2(m.layer1(out))))
    return F.adaptive_avg_pool2d(out, 1).flatten(1)


def reference_stats(emb, y, k, gamma=3.0, delta=0.5):
    """``SCAR.run``'s statistics in numpy: Tukey, mean, np.cov, twice ``cov_mat_shrinkage``, ``normalize_cov``,
    pinv; and ``mahalanobis_dist`` as the reference's permute / matmul / diagonal."""
    e = emb.double().numpy()
    means, invs = [], []
    for c in range(k):
        s = e[y.numpy() == c] ** delta
        cov = np.cov(s.T)
        for _ in range(2):
            off = cov - np.diag(np.diag(cov))
            v2 = off[off != 0].sum() / (off != 0).sum()
            cov = cov + gamma * np.eye(len(cov)) * np.diag(cov).mean() + gamma * (1 - np.eye(len(cov))) * v2
        sd = np.sqrt(np.diag(cov))
        means.append(s.mean(0))
        invs.append(np.linalg.pinv(cov / np.outer(sd, sd)))
    return torch.tensor(np.stack(means)).float(), torch.tensor(np.stack(invs)).float()


def reference_mahalanobis(emb, means, invs, delta=0.5):
    diff = F.normalize(emb.pow(delta), p=2, dim=-1)[:, None, :] - F.normalize(means, p=2, dim=-1)
    right = torch.matmul(diff.permute(1, 0, 2), invs)
    return torch.diagonal(torch.matmul(right, diff.permute(1, 2, 0)), dim1=1, dim2=2).T


def accuracy(model, x, y, k):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(1)
    total = torch.bincount(y, minlength=k).float()
    return float((pred == y).float().mean()), torch.bincount(y, weights=(pred == y).float(), minlength=k) / total


def scar_written_out(
    model, data, forget, seed, lr, epochs, b, n_sur, steps, tolerance, bn="train", th=0.8, images=None
):
    """The reference loop, HR mode, statistics from D_F (our forget_only), noise surrogate (or ``images``, uint8,
    its first n_sur); ``bn="eval"``: the surrogate passes on BatchNorm's running statistics (our switch)."""
    k = 4
    xf_all, yf_all = torch.as_tensor(data.train_x[forget]).float() / 255, torch.as_tensor(data.train_y[forget]).long()
    xt, yt = torch.as_tensor(data.test_x).float() / 255, torch.as_tensor(data.test_y).long()
    original = copy.deepcopy(model).eval()
    target = accuracy(original, xt, yt, k)[0] - tolerance
    model.eval()
    with torch.no_grad():
        means, invs = reference_stats(backbone(model, xf_all), yf_all, k)
    gen = torch.Generator().manual_seed(seed)
    mean, std = xf_all.mean(dim=(0, 2, 3)), xf_all.std(dim=(0, 2, 3))
    sx = mean.view(1, -1, 1, 1) + std.view(1, -1, 1, 1) * torch.randn((n_sur, 3, 16, 16), generator=gen)
    if images is not None:  # the natural-image surrogate: no draw from the generator
        gen = torch.Generator().manual_seed(seed)
        sx = torch.as_tensor(images[:n_sur]).float() / 255
    with torch.no_grad():
        s_logits = original(sx)
    labels = s_logits.argmax(1)
    count = torch.zeros(n_sur)
    for c in range(k):
        count[labels == c] = float((labels == c).sum())
    count[count < 3] = 5
    weights = 1 / count
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    closest_all, vec, stopped = [], None, None
    n_loader = -(-n_sur // b)
    for epoch in range(epochs):
        for nb, lo in enumerate(range(0, len(forget), b)):
            xf, yf = xf_all[lo : lo + b], yf_all[lo : lo + b]
            draw = torch.multinomial(weights, n_sur, replacement=True, generator=gen)
            for j in range(n_loader):
                xs, ls = sx[draw[j * b : (j + 1) * b]], s_logits[draw[j * b : (j + 1) * b]]
                opt.zero_grad()
                dists = reference_mahalanobis(backbone(model, xf), means, invs)
                if epoch == 0 and j == 0:
                    order = torch.argsort(dists, dim=1)
                    closest_all.append(torch.where(order[:, 0] == yf, order[:, 1], order[:, 0]))
                dists = dists[torch.arange(len(yf)), closest_all[nb]]
                if vec is not None:
                    vec[vec < th] = 0
                    for c in range(k):
                        dists[yf == c] = dists[yf == c] * vec[c]
                loss_fgt = dists.mean()
                model.train(bn == "train")
                out = model.linear(backbone(model, xs))
                model.train()
                log_t, log_s = F.log_softmax(ls + 1e-4, 1), F.log_softmax(out + 1e-4, 1)
                loss_ret = F.kl_div(log_s + 1e-4, log_t + 1e-4, reduction="batchmean", log_target=True) * 5.0
                if j > steps - 1:  # the reference's `if n_batch_ret > num_retain_samp: break`, after the forward
                    break
                (loss_fgt + loss_ret).backward()
                opt.step()
                acc, vec = accuracy(model, xf_all, yf_all, k)
                model.train()
                if acc < target and epoch > 1:
                    stopped = epoch + 1
                    break
            if stopped:
                break
        if stopped:
            break
    return stopped


@pytest.mark.parametrize("tolerance,bn", [(1.0, "train"), (-1.0, "train"), (1.0, "eval")])
def test_scar_is_the_authors_written_out_loop(setup, tolerance, bn):  # noqa: F811
    """Three epochs on 40 forget images in batches of 32 (a full and a partial one), 100 surrogate images
    in 4 loader batches of which 2 are steps and the third only moves BatchNorm: tolerance 1 never stops,
    tolerance -1 stops at the first step of the third epoch; surrogate_bn eval as the loop with that switch."""
    data, model, forget, _, _ = setup
    lr = 1e-3
    run = make_run(
        setup, "scar", "forget_only", epochs=3, lr=lr, batch_size=32, weight_decay=0.0, surrogate_size=100,
        surrogate_steps=2, tolerance=tolerance, surrogate_bn=bn,
    )  # fmt: skip
    ref = copy.deepcopy(run.model)
    stopped = scar_written_out(ref, data, forget, run.seed, lr, 3, 32, 100, 2, tolerance, bn)
    REGISTRY["scar"].run(run)
    assert_same_after_adam(run.model, ref, lr)
    assert run.stats["epochs_run"] == (stopped or 3)
    assert (stopped is None) == (tolerance > 0)
    hp = run.hp.__dict__ | run.hp.extra
    full = REGISTRY["scar"].cost("forget_only", hp, 40, 200)
    assert full == 3 * (2 * 40 + 2 * (32 + 32))  # per epoch 2 forget batches x 2 steps, each + a surrogate batch
    assert run.stats["sample_steps"] == (full if stopped is None else 2 * full // 3 + 32 + 32)


def test_scar_on_surrogate_images_is_the_written_out_loop(setup):  # noqa: F811
    """surrogate: images distils on the first surrogate_size of the run's surrogate images, unaugmented; a run
    without them is refused."""
    from amunflow.unlearn import DataViews, Hyper, Run

    data, model, forget, retain, _ = setup
    images = np.random.RandomState(2).randint(0, 256, (120, 3, 16, 16)).astype(np.uint8)
    base = make_run(
        setup, "scar", "forget_only", epochs=2, lr=1e-3, batch_size=32, weight_decay=0.0, surrogate_size=100,
        surrogate_steps=2, tolerance=1.0, surrogate="images",
    )  # fmt: skip
    views = DataViews(data.train_x, data.train_y, forget, retain, "forget_only", CPU, None, 4,
                      held_out=(data.test_x, data.test_y), surrogate=images)  # fmt: skip
    run = Run(base.model, views, Hyper.from_dict({**base.hp.__dict__, **base.hp.extra}), 3, CPU, progress_file=False)
    ref = copy.deepcopy(run.model)
    scar_written_out(ref, data, forget, run.seed, 1e-3, 2, 32, 100, 2, 1.0, images=images)
    REGISTRY["scar"].run(run)
    assert_same_after_adam(run.model, ref, 1e-3)
    with pytest.raises(UserError, match="surrogate"):
        REGISTRY["scar"].run(base)


def test_scar_statistics_are_numpys():
    """Per class mean and inverse shrunk correlation of Tukey embeddings, against numpy (np.cov, pinv),
    and a class with fewer than two samples left out rather than NaN."""
    g = torch.Generator().manual_seed(0)
    emb = torch.rand(60, 12, generator=g) * 2
    y = torch.tensor([0] * 25 + [1] * 34 + [2])
    ex = {"delta": 0.5, "gamma1": 3.0, "gamma2": 3.0}
    means, inv, ok = class_statistics(emb, y, 3, ex)
    ref_means, ref_inv = reference_stats(emb[:59], y[:59], 2)
    torch.testing.assert_close(means[:2], F.normalize(ref_means, dim=-1), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(inv[:2], ref_inv, rtol=1e-3, atol=1e-3)
    assert ok.tolist() == [True, True, False]
    cov = torch.tensor([[2.0, 0.5], [0.5, 4.0]])  # by hand: diag + 3 x 3, off-diagonal + 3 x 0.5
    torch.testing.assert_close(shrink(cov, 3.0, 3.0), torch.tensor([[11.0, 2.0], [2.0, 13.0]]))


def test_scar_without_d_r_on_one_class_takes_the_surrogates_statistics(setup):  # noqa: F811
    """A class-wise D_F without D_R leaves no other class in D_F to push to: stats auto falls back to the
    surrogate (labelled by the original); stats forget is refused, naming the key."""
    data, model, _, retain, adv = setup
    one_class = np.flatnonzero(data.train_y == 0)[:30]
    setup1 = (data, model, one_class, np.setdiff1d(np.arange(240), one_class), adv)
    run = make_run(setup1, "scar", "forget_only", epochs=1, surrogate_size=256, surrogate_steps=1)
    REGISTRY["scar"].run(run)
    assert run.stats["stats_from"] == "surrogate"
    run = make_run(setup1, "scar", "forget_only", epochs=1, surrogate_size=64, surrogate_steps=1, stats="forget")
    with pytest.raises(UserError, match=r"unlearn\.methods\.<instance>\.stats"):
        REGISTRY["scar"].run(run)


def test_scar_reads_the_retain_set_only_where_allowed(setup):  # noqa: F811
    """``stats: auto`` reads D_R with it (the reference's statistics) and D_F without; ``stats: retain``
    without D_R is refused by the data views."""
    run = make_run(setup, "scar", "with_retain", epochs=1, surrogate_size=64, surrogate_steps=1)
    REGISTRY["scar"].run(run)
    assert run.stats["seen"]["retain"] == 200 and run.stats["seen"]["surrogate"] == 2 * 32
    run = make_run(setup, "scar", "forget_only", epochs=1, surrogate_size=64, surrogate_steps=1, stats="retain")
    with pytest.raises(AccessError):
        REGISTRY["scar"].run(run)


def lotus_written_out(model, data, forget, retain, seed, lr, epochs, b, alpha, share=0.3):
    """``LoTUS.unlearn`` (cspartalis/LoTUS, lotus_class.py) written out, unaugmented: the retain share drawn
    once, the stop / temperature from accuracies rounded to two decimals, F.gumbel_softmax targets (hard for
    D_R, soft at tau for D_F), AdamW; returns the epochs trained."""
    xf, yf = torch.as_tensor(data.train_x[forget]).float() / 255, torch.as_tensor(data.train_y[forget]).long()
    xr = torch.as_tensor(data.train_x[retain]).float() / 255
    xt, yt = torch.as_tensor(data.test_x).float() / 255, torch.as_tensor(data.test_y).long()
    teacher = copy.deepcopy(model).eval()
    gen = torch.Generator().manual_seed(seed)
    sub = torch.randperm(len(retain), generator=gen)[: int(share * len(retain))]
    x_all = torch.cat([xf, xr[sub]])
    l_all = torch.cat([torch.ones(len(xf)), torch.zeros(len(sub))])
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    acc_val_t = round(accuracy(teacher, xt, yt, 4)[0], 2)
    trained = 0
    for _ in range(epochs):
        acc_forget_s = round(accuracy(model, xf, yf, 4)[0], 2)
        acc_diff = acc_forget_s - acc_val_t
        if acc_diff <= -0.01:
            break
        temperature = float(np.exp(alpha * acc_diff))
        model.train()
        order = torch.randperm(len(x_all), generator=gen)
        for i in range(0, len(x_all), b):
            x, l_ = x_all[order[i : i + b]], l_all[order[i : i + b]]
            with torch.no_grad():
                t_logits = teacher(x)
            output = model(x)
            opt.zero_grad()
            # F.gumbel_softmax draws from the global generator: hand it ours, draw by draw
            torch.random.set_rng_state(gen.get_state())
            hard_t = F.gumbel_softmax(t_logits, tau=1, hard=True)
            soft_t = F.gumbel_softmax(t_logits, tau=temperature, hard=False)
            gen.set_state(torch.random.get_rng_state())
            t = l_.unsqueeze(1) * soft_t + (1 - l_.unsqueeze(1)) * hard_t
            loss = -torch.sum(t * F.log_softmax(output, dim=1), dim=1).mean()
            loss.backward()
            opt.step()
        trained += 1
    return trained


@pytest.mark.parametrize("alpha", [8.0, 0.5])
def test_lotus_is_the_authors_written_out_loop(setup, alpha):  # noqa: F811
    """Four epochs of batch 32 on D_F and 30% of D_R, unaugmented, against the reference loop written out
    with torch's own F.gumbel_softmax; both stop at the same epoch when the forget accuracy falls (lr 0.01)."""
    data, model, forget, retain, _ = setup
    for lr in (1e-3, 2e-2):
        run = make_run(
            setup, "lotus", epochs=4, lr=lr, batch_size=32, weight_decay=5e-4, crop_padding=0, flip=False,
            alpha=alpha,
        )  # fmt: skip
        ref = copy.deepcopy(run.model)
        trained = lotus_written_out(ref, data, forget, retain, run.seed, lr, 4, 32, alpha)
        REGISTRY["lotus"].run(run)
        assert_same_after_adam(run.model, ref, lr)
        assert run.stats["epochs_run"] == trained == (4 if lr < 0.01 else 1)  # both branches: no stop, a stop
        assert run.stats["sample_steps"] == trained * (40 + 60)
    hp = run.hp.__dict__ | run.hp.extra
    assert REGISTRY["lotus"].cost("with_retain", hp, 40, 200) == 4 * (40 + 60)
    with pytest.raises(AccessError):
        REGISTRY["lotus"].run(make_run(setup, "lotus", "forget_only", epochs=1))


def reference_rf_jsd(unlearned_logits, forget_y, original_logits, test_y):
    """cspartalis/LoTUS, src/helpers/eval.py ``log_js_proxy`` and ``JSDiv`` written out on logits: per-label
    lists of softmax rows, their means renormalised, test classes missing from D_F popped, torch's kl_div."""
    test, fgt = {}, {}
    for store, logits, ys in ((test, original_logits, test_y), (fgt, unlearned_logits, forget_y)):
        probs = F.softmax(torch.as_tensor(logits, dtype=torch.float32), dim=1)
        for i, label in enumerate(ys):
            store.setdefault(int(label), []).append(probs[i])
        for label in store:
            store[label] = torch.stack(store[label]).mean(dim=0)
            store[label] = store[label] / store[label].sum()
    for key in range(1000):
        if key not in fgt:
            test.pop(key, None)
    p = torch.stack([fgt[k] for k in sorted(fgt)])
    q = torch.stack([test[k] for k in sorted(test)])
    p, q = torch.clamp(p, min=1e-8, max=1.0), torch.clamp(q, min=1e-8, max=1.0)
    p, q = p / torch.sum(p), q / torch.sum(q)
    m = 0.5 * (p + q)
    return float(0.5 * (F.kl_div(p.log(), m, reduction="batchmean") + F.kl_div(q.log(), m, reduction="batchmean")))


def test_rf_jsd_is_lotus_js_proxy():
    """Against the reference's code written out (a test class absent from D_F dropped, as its pop), zero for
    identical per-class means, and larger the more D_F's outputs differ from the original's on D_T."""
    rs = np.random.RandomState(0)
    f_logits, t_logits = rs.normal(0, 2, (30, 5)), rs.normal(0, 2, (50, 5))
    f_y, t_y = rs.randint(0, 4, 30), rs.randint(0, 5, 50)  # class 4 only in D_T
    reference = reference_rf_jsd(f_logits, f_y, t_logits, t_y)
    assert rf_jsd(f_logits, f_y, t_logits, t_y) == pytest.approx(reference, rel=1e-4)
    assert rf_jsd(t_logits, t_y, t_logits, t_y) == pytest.approx(0.0, abs=1e-12)
    confident = np.eye(5)[t_y] * 10.0  # a model that memorized: its D_F outputs far sharper than on D_T
    near = rf_jsd(t_logits * 1.2, t_y, t_logits, t_y)  # slightly sharper outputs
    assert 0 < near < rf_jsd(confident, t_y, t_logits, t_y)


# --------------------------------------------------------------------------- RUM


def rum_run(setup, mem, setting="with_retain", **hyper):  # noqa: F811
    """A RUM run on the fixture with D_F's memorization scores ``mem`` (n_forget, 2)."""
    from amunflow.unlearn import DataViews, Hyper, Run

    data, model, forget, retain, adv = setup
    run = make_run(setup, "rum", setting, **{**REGISTRY["rum"].recipe, **hyper})
    hp = run.hp
    views = DataViews(data.train_x, data.train_y, forget, retain, setting, CPU, adv, 4, memorization=mem)
    return Run(run.model, views, Hyper.from_dict({**hp.__dict__, **hp.extra}), 3, CPU, progress_file=False)


def rum_scores(n, seed=0):
    """Scores with many ties in the accuracy column (as with few reference models)."""
    rs = np.random.RandomState(seed)
    return np.stack([rs.choice([-0.5, 0.0, 0.5, 1.0], n), rs.rand(n)], 1)


def test_rum_groups_rank_by_memorization_then_confidence_then_position():
    from amunflow.methods.rum import groups

    mem = np.array([[1.0, 0.2], [0.0, 0.9], [0.0, 0.1], [1.0, 0.2], [0.5, 0.0], [0.0, 0.1], [1.0, 0.7]])
    by_hand = [[2, 5, 1], [4, 0], [3, 6]]  # ranks: (0,.1,#2) (0,.1,#5) (0,.9) | (.5) (1,.2,#0) | (1,.2,#3) (1,.7)
    assert [g.tolist() for g in groups(mem, 3)] == by_hand
    mem = rum_scores(41)
    key = sorted(range(41), key=lambda i: (mem[i, 0], mem[i, 1], i))
    assert np.concatenate(groups(mem, 4)).tolist() == key
    assert [len(g) for g in groups(mem, 4)] == [11, 10, 10, 10]


def rum_written_out(model, data, forget, retain, mem, seed, lr, b, ft_epochs, salun_epochs, wd=5e-4, ratio=0.5):
    """``main_rum.py``'s nothing / FT / SalUn sequence written out (main_forget.py --sequential --mem mid,
    main_random.py --mem high; SGD, momentum 0.9, no augmentation, no decay): groups by hand, D_R plus the
    groups not yet unlearned, SalUn's mask from |sum grad -CE| over the high group on the model FT left, the
    masked entries held (no decay), labels from the other classes (our RL's) redrawn each epoch."""
    key = sorted(range(len(forget)), key=lambda i: (mem[i, 0], mem[i, 1], i))
    third = [key[: len(key) - 2 * (len(key) // 3)]]  # np.array_split's sizes: the first group takes the rest
    rest = key[len(third[0]) :]
    low, mid, high = third[0], rest[: len(rest) // 2], rest[len(rest) // 2 :]
    assert len(low) >= len(mid) == len(high)
    del low  # the low group: nothing

    def x_of(idx):
        return torch.as_tensor(data.train_x[idx]).float() / 255

    def y_of(idx):
        return torch.as_tensor(data.train_y[idx]).long()

    # FT on the middle group: D_R and the high group (not yet unlearned)
    r_idx = np.concatenate([retain, forget[high]])
    xr, yr = x_of(r_idx), y_of(r_idx)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
    for _ in range(ft_epochs):
        model.train()
        order = torch.randperm(len(yr), generator=gen)
        for i in range(0, len(yr), b):
            loss = F.cross_entropy(model(xr[order[i : i + b]]), yr[order[i : i + b]])
            opt.zero_grad()
            loss.backward()
            opt.step()
    # SalUn on the high group: D_R only
    xh, yh = x_of(forget[high]), y_of(forget[high])
    model.eval()
    model.zero_grad()
    (-F.cross_entropy(model(xh), yh)).backward()
    sal = {n: p.grad.abs() for n, p in model.named_parameters()}
    flat = torch.cat([s.flatten() for s in sal.values()])
    cut = flat.sort(descending=True).values[int(round(ratio * len(flat))) - 1]
    mask = {n: (s >= cut).float() for n, s in sal.items()}
    xr, yr = x_of(retain), y_of(retain)
    gen = torch.Generator().manual_seed(seed)
    label_gen = torch.Generator().manual_seed(seed + 7919)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=0.0)
    for _ in range(salun_epochs):
        wrong = (yh + torch.randint(1, 4, yh.shape, generator=label_gen)) % 4
        x_all, y_all = torch.cat([xr, xh]), torch.cat([yr, wrong])
        model.train()
        order = torch.randperm(len(y_all), generator=gen)
        for i in range(0, len(y_all), b):
            loss = F.cross_entropy(model(x_all[order[i : i + b]]), y_all[order[i : i + b]])
            opt.zero_grad()
            loss.backward()
            for n, p in model.named_parameters():
                p.grad.mul_(mask[n]).add_(p.detach() * mask[n], alpha=wd)
            opt.step()
    return mid, high


def test_rum_is_the_references_sequence_written_out(setup):  # noqa: F811
    """Nothing for the least memorized third of 40 forget images, FT (2 epochs) for the middle one with the
    high third still retained, SalUn (1 epoch, its mask on FT's model and the high group) for the top one:
    as the reference's three commands, written out; the steps' work is what the cost counts."""
    data, model, forget, retain, _ = setup
    mem = rum_scores(40)
    inner = ["none", {"method": "ft", "epochs": 2}, {"method": "salun", "epochs": 1}]
    run = rum_run(setup, mem, lr=0.02, batch_size=32, momentum=0.9, weight_decay=5e-4, inner=inner)
    ref = copy.deepcopy(run.model)
    mid, high = rum_written_out(ref, data, forget, retain, mem, run.seed, 0.02, 32, 2, 1)
    REGISTRY["rum"].run(run)
    from .test_baselines import assert_same_state

    assert_same_state(run.model, ref)
    assert run.stats["sample_steps"] == 2 * (200 + len(high)) + 1 * (200 + len(high))
    hp = run.hp.__dict__ | run.hp.extra
    assert REGISTRY["rum"].cost("with_retain", hp, 40, 200) == run.stats["sample_steps"] + len(high)
    assert run.stats["extra_grad_evals"] == len(high)  # the mask's pass over the high group
    assert run.stats["seen"] == {"retain": 2 * (200 + len(high)) + 200, "forget": len(high)}


def test_rum_retains_later_groups_only_with_the_switch(setup):  # noqa: F811
    """later_in_retain false: each step's D_R is D_R alone; a step on no group is skipped; an AMUN step
    gets its group's rows of D_A."""
    mem = rum_scores(40)
    run = rum_run(setup, mem, inner=["none", {"method": "ft", "epochs": 1}, "none"], later_in_retain=False)
    REGISTRY["rum"].run(run)
    assert run.stats["seen"] == {"retain": 200}
    run = rum_run(setup, mem, "forget_only", inner=["none", "none", {"method": "amun", "epochs": 1}], lr=0.01)
    before = copy.deepcopy(run.model.state_dict())
    REGISTRY["rum"].run(run)
    assert run.stats["seen"] == {"forget": 13, "adversarial": 13}
    assert any(not torch.equal(before[k], v) for k, v in run.model.state_dict().items())
    run = rum_run(setup, None, inner=["none"])
    with pytest.raises(UserError, match="memorization scores"):
        REGISTRY["rum"].run(run)


def test_memorization_confidence_is_the_per_sample_estimate():
    """Feldman's estimate with the softmax probability of the label, a point at a time, against the
    vectorized one; the accuracy version stays the in-minus-out accuracy."""
    from amunflow.splits import memorization_scores

    rs = np.random.RandomState(1)
    logits, y = rs.randn(4, 9, 3) * 3, rs.randint(0, 3, 9)
    keep = np.array([[1, 0, 1, 0, 1, 1, 0, 0, 1], [0, 1, 0, 1, 0, 0, 1, 1, 0]] * 2, dtype=bool)
    got = memorization_scores(logits, keep, y, confidence=True)
    acc = memorization_scores(logits, keep, y)
    for i in range(9):
        p = [np.exp(logits[k, i, y[i]]) / np.exp(logits[k, i]).sum() for k in range(4)]
        c = [float(np.argmax(logits[k, i]) == y[i]) for k in range(4)]
        ins, outs = [k for k in range(4) if keep[k, i]], [k for k in range(4) if not keep[k, i]]
        assert got[i] == pytest.approx(np.mean([p[k] for k in ins]) - np.mean([p[k] for k in outs]))
        assert acc[i] == pytest.approx(np.mean([c[k] for k in ins]) - np.mean([c[k] for k in outs]))


def test_rum_steps_are_checked_and_decide_settings_and_d_a():
    """Each step names a registered, non-wrapper method with keys of its own, checked against that method;
    RUM runs in the settings every step supports (FT needs D_R) and reads D_A when a step does; it needs
    the reference models' scores; its steps are not tuned."""
    import yaml

    from amunflow.config import Experiment, validate_config
    from amunflow.hyper import settings_of, spec_for

    from .helpers import CONFIGS

    def cfg(**methods):
        c = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
        c["unlearn"]["methods"] = methods
        c["tuning"] = {"enabled": False}
        return c

    c = validate_config(cfg(rum={}, rum_amun={"method": "rum", "inner": ["none", "amun", "amun"]}), False)
    u = c["unlearn"]
    assert settings_of(u, "rum") == ["with_retain"] and settings_of(u, "rum_amun") == ["with_retain", "forget_only"]
    assert not spec_for(u, "rum", "with_retain").needs_adv and spec_for(u, "rum_amun", "forget_only").needs_adv
    assert {s for _, s, *_ in Experiment(c).unlearn_units()} == {"with_retain", "forget_only"}
    bad = [
        ({"inner": ["none", "fine_tune"]}, r"unlearn\.methods\.rum\.inner\[1\]: 'fine_tune' is not a method"),
        ({"inner": [{"method": "rum"}]}, r"inner\[0\]: 'rum' is not a method a step can run"),
        ({"inner": [{"method": "salun", "mask_ratio": 2}]}, r"inner\[0\]\.mask_ratio"),
        ({"inner": [{"method": "ft", "alpha": 1}]}, r"inner\[0\]: unknown hyperparameter\(s\) \['alpha'\]"),
        ({"inner": []}, r"unlearn\.methods\.rum\.inner"),
    ]
    for entry, message in bad:
        with pytest.raises(UserError, match=message):
            validate_config(cfg(rum=entry), False)
    c = cfg(rum={"inner": ["none", "ft"]})
    c["unlearn"]["settings"] = ["forget_only"]
    with pytest.raises(UserError, match=r"unlearn\.methods\.rum: it runs only .* inner steps"):
        validate_config(c, False)
    c = cfg(rum={})
    c["rmia"] = {"enabled": False}
    c["evaluation"] = {"mia_column": "mis"}
    with pytest.raises(UserError, match=r"unlearn\.methods\.rum: .*set rmia\.enabled: true"):
        validate_config(c, False)
    c = cfg(rum={})
    c["tuning"] = {"enabled": True, "grids": {"rum": {"inner": [["none"], ["ft"]]}}}
    with pytest.raises(UserError, match=r"tuning\.grids\.rum\.inner: it decides what the runs read"):
        validate_config(c, False)


# --------------------------------------------------------------------------- surrogate images


def test_surrogate_images_from_a_folder_are_drawn_resized_and_checked(tmp_path):
    """Every image file under the root (any layout, other files skipped), seeded draw, resized to the
    bundle's size (a file already at that size byte for byte); refused for another bundle, and when too few."""
    from PIL import Image

    from amunflow import surrogate
    from amunflow.data import synthetic

    rs = np.random.RandomState(0)
    root = tmp_path / "imgs"
    pixels = {}
    for i in range(7):
        a = rs.randint(0, 256, (16, 16, 3) if i % 2 else (20, 24, 3)).astype(np.uint8)
        f = root / f"d{i % 3}" / f"{i}.png"
        f.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(f)
        pixels[f"d{i % 3}/{i}.png"] = a
    (root / "notes.txt").write_text("not an image")
    data = synthetic(n_train=20, n_test=8, num_classes=4, image_size=16, seed=1)
    out = tmp_path / "s.h5"
    x = surrogate.prepare({"root": str(root), "size": 5, "seed": 1}, {"name": "synthetic"}, data, out,
                          surrogate.fingerprint(root))  # fmt: skip
    names = sorted(pixels)
    pick = sorted(np.random.RandomState(1).choice(7, 5, replace=False))
    assert x.shape == (5, 3, 16, 16) and x.dtype == np.uint8
    for img, i in zip(x, pick, strict=True):
        a = pixels[names[i]]
        if a.shape[:2] == (16, 16):
            np.testing.assert_array_equal(img, a.transpose(2, 0, 1))
    np.testing.assert_array_equal(surrogate.load(out, data), x)
    with pytest.raises(UserError, match="another dataset bundle"):
        surrogate.load(out, synthetic(n_train=20, n_test=8, num_classes=4, image_size=16, seed=2))
    with pytest.raises(UserError, match=r"surrogate\.size: 8 images asked for, but .* holds 7"):
        surrogate.prepare({"root": str(root), "size": 8, "seed": 1}, {"name": "synthetic"}, data, out,
                          surrogate.fingerprint(root))  # fmt: skip
    with pytest.raises(UserError, match="changed after the workflow was planned"):
        surrogate.prepare({"root": str(root), "size": 2, "seed": 1}, {"name": "synthetic"}, data, out, "zip:0")


def test_surrogate_from_the_dataset_root_holds_no_image_of_the_bundle(cifar_small_zip, tmp_path):
    """Under the dataset's own root only the training images the bundle did not draw are candidates: every
    one of them, decoded from the zip here, and none of the bundle's training or test images."""
    import zipfile

    from PIL import Image

    from amunflow import surrogate
    from amunflow.data import imagefolder_train_files, prepare

    cfg = {"name": "imagefolder", "root": str(cifar_small_zip), "subset": 150, "test_subset": 30, "subset_seed": 0}
    data = prepare(cfg, tmp_path / "d.h5")
    x = surrogate.prepare({"root": str(cifar_small_zip), "size": 50, "seed": 0}, cfg, data, tmp_path / "s.h5",
                          surrogate.fingerprint(cifar_small_zip))  # fmt: skip
    train_files = imagefolder_train_files(cifar_small_zip)
    unused = [f for i, f in enumerate(train_files) if i not in set(data.attrs["train_source_index"].tolist())]
    with zipfile.ZipFile(cifar_small_zip) as zf:
        expect = {np.asarray(Image.open(zf.open("cifar-small/" + f)).convert("RGB")).tobytes() for f in unused}
    got = {img.transpose(1, 2, 0).tobytes() for img in x}
    assert len(unused) == 50 and got == expect
    bundle = {img.transpose(1, 2, 0).tobytes() for img in np.concatenate([data.train_x, data.test_x])}
    assert not got & bundle


def test_surrogate_images_need_a_root_enough_images_and_are_not_tuned():
    import yaml

    from amunflow.config import validate_config
    from amunflow.hyper import spec_for

    from .helpers import CONFIGS

    def cfg(scar, **top):
        c = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
        c["unlearn"]["methods"] = {"scar": scar}
        c["tuning"] = {"enabled": False}
        return {**c, **top}

    with pytest.raises(UserError, match=r"unlearn\.methods\.scar\.surrogate: images needs natural images"):
        validate_config(cfg({"surrogate": "images"}), check_data=False)
    with pytest.raises(UserError, match=r"surrogate\.size: 10000 images, but unlearn\.methods\.scar takes"):
        validate_config(
            cfg({"surrogate": "images", "surrogate_size": 20000}, surrogate={"root": "x"}), check_data=False
        )
    c = validate_config(cfg({"surrogate": "images", "surrogate_size": 500}, surrogate={"root": "x"}), check_data=False)
    assert spec_for(c["unlearn"], "scar", "forget_only").needs_surrogate
    assert not spec_for(validate_config(cfg({}), check_data=False)["unlearn"], "scar", "forget_only").needs_surrogate
    c = cfg({}, surrogate={"root": "x"})
    c["tuning"] = {"enabled": True, "grids": {"scar": {"surrogate": ["noise", "images"]}}}
    with pytest.raises(UserError, match=r"tuning\.grids\.scar\.surrogate: it decides what the runs read"):
        validate_config(c, check_data=False)
