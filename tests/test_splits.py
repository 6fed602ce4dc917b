import h5py
import numpy as np
import pytest

from amunflow import UserError
from amunflow.splits import (
    classwise_forget,
    forget_count,
    load_split,
    make_split,
    random_forget,
    resolve_classes,
    save_split,
)


def legacy_draw(n, k, seed):
    """Exactly the paper's forget_index_generate.py: the global legacy RNG."""
    np.random.seed(seed)
    return np.random.choice(n, k, replace=False)


@pytest.mark.parametrize(
    "n,k,seed", [(50000, 5000, 1), (50000, 5000, 10), (50000, 25000, 100), (1000, 37, 0), (7, 6, 3)]
)
def test_random_forget_bit_exact_with_legacy_numpy(n, k, seed):
    ours = random_forget(n, k, seed)
    ref = legacy_draw(n, k, seed)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours, ref)


def test_paper_seed1_5000_known_prefix_and_prefix_property():
    idx = random_forget(50000, 5000, 1)
    # the 5000-lists of the paper are prefixes of its 10000-lists (same seed)
    np.testing.assert_array_equal(random_forget(50000, 10000, 1)[:5000], idx)
    assert len(np.unique(idx)) == 5000 and idx.min() >= 0 and idx.max() < 50000
    # a different seed gives a different set
    assert len(np.intersect1d(idx, random_forget(50000, 5000, 10))) < 1000


def test_forget_count_fraction_and_count():
    assert forget_count(0.1, 50000) == 5000
    assert forget_count(0.5, 50000) == 25000
    assert forget_count(5000, 50000) == 5000
    for bad in (0, 0.0, 50000, 60000, 1.5, -0.1, True, "10%", 1.0, 5000.0):  # 1.0: one sample, or all?
        with pytest.raises(UserError, match="forget_sets"):
            forget_count(bad, 50000)
    for bad in (0, 0.0, 50000, 60000, 1.5, -0.1, True, "10%"):
        with pytest.raises(UserError, match="forget_sets"):
            forget_count(bad, 50000)


def test_split_random_partition_and_roundtrip(tmp_path):
    labels = np.arange(200) % 4
    split = make_split({"kind": "random", "size": 0.25}, 7, labels, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(split.forget, legacy_draw(200, 50, 7))
    np.testing.assert_array_equal(np.sort(np.concatenate([split.forget, split.retain])), np.arange(200))
    assert np.all(np.diff(split.retain) > 0)
    path = tmp_path / "s.h5"
    save_split(path, split, "fp123")
    back = load_split(path, "fp123")
    np.testing.assert_array_equal(back.forget, split.forget)  # draw order kept
    np.testing.assert_array_equal(back.retain, split.retain)
    assert back.attrs["seed"] == 7 and back.attrs["n_forget"] == 50 and back.attrs["kind"] == "random"
    with pytest.raises(UserError, match="another dataset"):
        load_split(path, "other-fingerprint")
    with h5py.File(path, "r+") as f:  # tamper: the hash check must catch it
        f["forget"][0] = f["forget"][1]
    with pytest.raises(UserError, match="hash check"):
        load_split(path)


def test_classwise_split_by_name_and_index():
    labels = np.array([0, 1, 2, 1, 0, 2, 2, 1])
    names = ["cat", "dog", "ship"]
    assert resolve_classes(["dog", 2], names) == [1, 2]
    np.testing.assert_array_equal(classwise_forget(labels, [1]), [1, 3, 7])
    split = make_split({"kind": "classes", "classes": ["ship"]}, 0, labels, names)
    np.testing.assert_array_equal(split.forget, [2, 5, 6])
    np.testing.assert_array_equal(split.retain, [0, 1, 3, 4, 7])
    assert split.attrs["class_names"] == ["ship"]
    with pytest.raises(UserError, match="no class named 'horse'"):
        resolve_classes(["horse"], names)
    with pytest.raises(UserError, match="class index 3 does not exist"):
        resolve_classes([3], names)
    with pytest.raises(UserError, match="select 8 of 8"):
        make_split({"kind": "classes", "classes": [0, 1, 2]}, 0, labels, names)


def test_digit_named_class_folders_are_matched_by_name_and_an_ambiguous_value_refused():
    # an ImageFolder of folders 0..11 lists its classes in sorted order: 0, 1, 10, 11, 2, ..., 9
    names = sorted(str(i) for i in range(12))
    assert names[2] == "10" and names[10] == "8"
    assert resolve_classes(["1"], names) == [1]  # folder 1 is class 1: no doubt
    assert resolve_classes([10], names) == [10]  # an unquoted number is an index
    with pytest.raises(UserError, match=r"'10' is the name of class 2 and the index of class '8'; write 2"):
        resolve_classes(["10"], names)  # folder 10 by name, or folder 8 by index: refused, not guessed
    assert resolve_classes(["3"], ["a", "b", "c", "d"]) == [3]  # no class named "3": an index, as before
    labels = np.array([names.index("11"), 0, names.index("11")])
    split = make_split({"kind": "classes", "classes": [names.index("11")]}, 0, labels, names)
    np.testing.assert_array_equal(split.forget, [0, 2])
    assert split.attrs["class_names"] == ["11"]


def test_memorized_split_draws_within_the_quantile_band():
    from amunflow.splits import quantile_pool

    rs = np.random.RandomState(0)
    n = 200
    scores = rs.uniform(-1, 1, n)
    scores[:20] = 1.0  # ties at the top are broken by index
    pool = quantile_pool(scores, 0.75, 1.0)
    ranked = sorted(range(n), key=lambda i: (scores[i], i))
    np.testing.assert_array_equal(pool, np.sort(ranked[150:]))
    assert len(pool) == 50 and set(range(20)) <= set(pool)
    spec = {"kind": "memorized", "size": 30, "quantiles": [0.75, 1.0]}
    split = make_split(spec, 7, rs.randint(0, 4, n), ["a", "b", "c", "d"], scores=scores)
    np.random.seed(7)
    np.testing.assert_array_equal(split.forget, pool[np.random.choice(50, 30, replace=False)])
    assert split.attrs["pool"] == 50 and split.attrs["quantiles"] == [0.75, 1.0]
    np.testing.assert_array_equal(split.retain, np.setdiff1d(np.arange(n), split.forget))
    assert scores[split.forget].min() >= np.sort(scores)[150]
    with pytest.raises(
        UserError, match=r"quantiles: the band \[0.9, 1.0\] holds 20 training images, fewer than the 30"
    ):
        make_split({**spec, "quantiles": [0.9, 1.0]}, 7, np.zeros(n, int), ["a"], scores=scores)


@pytest.mark.parametrize(
    "entry,match",
    [
        ({"kind": "memorized", "size": 0.1}, r"forget_sets\[0\]: a memorized forget set takes 'size' and 'quantiles'"),
        ({"kind": "memorized", "size": 0.1, "quantiles": [0.9, 0.5]}, r"forget_sets\[0\]\.quantiles: \[0\.9, 0\.5\]"),
        ({"kind": "random", "size": 0.1, "quantiles": [0, 1]}, r"takes 'size' and not 'quantiles'"),
        ({"kind": "memorized", "size": 0.5, "quantiles": [0.8, 1.0]}, r"band \[0\.8, 1\.0\] holds 40 of the 200"),
    ],
)
def test_memorized_forget_sets_are_checked_before_any_job(entry, match):
    from amunflow.config import validate_config

    cfg = {"dataset": {"name": "synthetic", "synthetic": {"n_train": 200}}, "forget_sets": [entry]}
    with pytest.raises(UserError, match=match):
        validate_config(cfg)
    if entry.get("quantiles") == [0.8, 1.0]:
        off = {**cfg, "forget_sets": [{**entry, "size": 10}], "rmia": {"enabled": False}}
        with pytest.raises(UserError, match=r"memorization scores; set rmia\.enabled: true"):
            validate_config({**off, "evaluation": {"mia_column": "mis"}})
