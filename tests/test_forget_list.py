"""Forget sets read from a file (`kind: list`): the authors' index files, image paths, every refusal."""

import numpy as np
import pandas as pd
import pytest

from amunflow import UserError
from amunflow.config import Experiment, forget_set_id, validate_config
from amunflow.data import load_bundle, prepare, subset_train_index, take_subset
from amunflow.forget_list import list_sha256, read_entries, resolve, to_bundle
from amunflow.jobs.data import split_job
from amunflow.splits import load_split, random_forget

# The first twelve rows of the AMUN repository's unlearn_indices/cifar/5000/seed_1.csv (Ali-E/AMUN,
# written by forget_index_generate.py): the paper's CIFAR-10 forget set of seed 1.
AMUN_SEED1_HEAD = [26247, 35067, 34590, 16668, 12196, 2600, 9047, 2206, 25607, 11606, 3624, 43027]

CIFAR = {"name": "cifar10", "root": "/nonexistent-cifar", "download": True}


def write_amun_file(path, idx):
    """The file exactly as forget_index_generate.py writes it (pandas, header unlearn_idx, no index)."""
    pd.DataFrame({"unlearn_idx": idx}).to_csv(path, index=False)


def test_the_authors_index_file_reads_as_their_forget_set(tmp_path):
    path = tmp_path / "seed_1.csv"
    write_amun_file(path, random_forget(50000, 5000, 1))
    assert path.read_text().splitlines()[:3] == ["unlearn_idx", "26247", "35067"]  # their file's first lines
    idx = resolve({"kind": "list", "path": str(path)}, CIFAR)
    assert idx.tolist()[:12] == AMUN_SEED1_HEAD and len(idx) == 5000  # their order, their indices
    np.random.seed(1)  # and the draw that produced their file
    np.testing.assert_array_equal(idx, np.random.choice(50000, 5000, replace=False))


def test_npy_text_and_named_column_formats(tmp_path):
    np.save(tmp_path / "f.npy", np.array([5, 3, 9]))
    (tmp_path / "f.txt").write_text("# request 12\n5\n\n3  # second\n9\n")
    (tmp_path / "f.csv").write_text("user,img\nann,5\nbob,3\ncy,9\n")
    for spec in ({"path": "f.npy"}, {"path": "f.txt"}, {"path": "f.csv", "column": "img"}):
        spec = {"kind": "list", **spec, "path": str(tmp_path / spec["path"])}
        assert resolve(spec, CIFAR).tolist() == [5, 3, 9]
    assert [w for _, w in read_entries(tmp_path / "f.txt")] == ["line 2", "line 4", "line 5"]


@pytest.mark.parametrize(
    "name,content,match",
    [
        ("a.csv", "unlearn_idx\n4\n50000\n", r"a\.csv, line 3: index 50000 is outside the 50000 training images"),
        ("a.csv", "unlearn_idx\n4\n7\n4\n", r"a\.csv, line 4: names training image 4 again \(first at line 2\)"),
        ("a.csv", "unlearn_idx\n", r"a\.csv: it names no sample"),
        ("a.txt", "# nothing yet\n", r"a\.txt: it names no sample"),
        ("a.csv", "user,when\nann,3\n", r"header \['user', 'when'\] has none of"),
        ("a.csv", "unlearn_idx\n4\ncat\n", r"a\.csv, line 3: 'cat' is neither a training index nor an image path"),
        ("a.txt", "4\n-2\n", r"a\.txt, line 2: index -2 is outside"),
        ("a.txt", "train/cat/1.png\n", r"a\.txt, line 1: image paths need an imagefolder source"),
    ],
)
def test_bad_lists_are_refused_naming_file_and_line(tmp_path, name, content, match):
    (tmp_path / name).write_text(content)
    with pytest.raises(UserError, match=match):
        resolve({"kind": "list", "path": str(tmp_path / name)}, CIFAR)


def test_missing_file_and_bad_npy(tmp_path):
    with pytest.raises(UserError, match=r"forget list .*nope\.csv does not exist"):
        resolve({"kind": "list", "path": str(tmp_path / "nope.csv")}, CIFAR)
    np.save(tmp_path / "m.npy", np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(UserError, match=r"shape \(2, 2\); save a 1-D integer array"):
        resolve({"kind": "list", "path": str(tmp_path / "m.npy")}, CIFAR)


def test_subset_membership_and_all_images(tmp_path):
    syn = {"name": "synthetic", "synthetic": {"n_train": 50, "n_test": 10}, "subset": 20, "subset_seed": 3}
    kept = subset_train_index(50, 20, 3)
    out = int(np.setdiff1d(np.arange(50), kept)[0])
    (tmp_path / "a.txt").write_text(f"{kept[0]}\n{out}\n")
    with pytest.raises(UserError, match=rf"line 2: training image {out} is not among the 20 images dataset\.subset"):
        resolve({"kind": "list", "path": str(tmp_path / "a.txt")}, syn)
    (tmp_path / "b.txt").write_text("\n".join(str(i) for i in kept))
    with pytest.raises(UserError, match="names all 20 training images, so nothing would be retained"):
        resolve({"kind": "list", "path": str(tmp_path / "b.txt")}, syn)


def test_subset_index_is_take_subsets_own_draw():
    from amunflow.data import synthetic

    d = synthetic(n_train=90, n_test=10)
    kept = take_subset(d, 30, 5, seed=7).attrs["train_source_index"]
    np.testing.assert_array_equal(subset_train_index(90, 30, 7), np.sort(kept))


def test_image_paths_of_an_imagefolder_tree_are_the_images_they_name(cifar_small, tmp_path):
    """Paths resolve to the images themselves: the split's forget images are, pixel for pixel, the
    files the list names (decoded independently with PIL), in the list's order, through a subset and
    the bundle's interleaved order."""
    from PIL import Image
    from torchvision.datasets import ImageFolder

    samples = [p for p, _ in ImageFolder(str(cifar_small / "train")).samples]
    names = ["train/dog/" + sorted(p.name for p in (cifar_small / "train" / "dog").iterdir())[3]]
    names += ["train/airplane/" + sorted(p.name for p in (cifar_small / "train" / "airplane").iterdir())[0]]
    ds = {"name": "imagefolder", "root": str(cifar_small), "subset": None, "test_subset": None, "subset_seed": 0}
    lst = tmp_path / "req.csv"
    lst.write_text("path\n" + "\n".join(names + ["17"]) + "\n")
    idx = resolve({"kind": "list", "path": str(lst)}, ds)
    assert [samples[i] for i in idx[:2]] == [str(cifar_small / n) for n in names] and idx[2] == 17

    prepare(ds, tmp_path / "b.h5")
    data = load_bundle(tmp_path / "b.h5")
    spec = {"kind": "list", "path": str(lst), "sha256": list_sha256(lst)}
    split_job(tmp_path / "b.h5", spec, "list-req", 0, "eval", tmp_path / "s.h5", dataset_cfg=ds)
    split = load_split(tmp_path / "s.h5", data.fingerprint())
    for pos, name in zip(split.forget[:2], names, strict=True):
        pixels = np.asarray(Image.open(cifar_small / name).convert("RGB")).transpose(2, 0, 1)
        np.testing.assert_array_equal(data.train_x[pos], pixels)
    np.testing.assert_array_equal(data.attrs["train_source_index"][split.forget], idx)
    assert split.attrs["kind"] == "list" and len(split.retain) == 197

    for bad, match in (("test/dog/x.jpg", "is a test image"), ("train/dog/missing.jpg", "no training image")):
        lst.write_text(f"path\n{bad}\n")
        with pytest.raises(UserError, match=rf"req\.csv, line 2: .*{match}"):
            resolve({"kind": "list", "path": str(lst)}, ds)
    lst.write_text("path\n" + names[0] + "\n" + str(samples.index(str(cifar_small / names[0]))) + "\n")
    with pytest.raises(UserError, match=r"line 3: names training image \d+ again \(first at line 2\)"):
        resolve({"kind": "list", "path": str(lst)}, ds)


def test_an_edited_list_is_refused_by_the_job_and_an_unstored_image_by_the_bundle(tmp_path):
    syn = {"name": "synthetic", "synthetic": {"n_train": 40, "n_test": 10}, "subset": None, "test_subset": None}
    prepare(syn, tmp_path / "b.h5")
    (tmp_path / "a.txt").write_text("3\n1\n")
    spec = {"kind": "list", "path": str(tmp_path / "a.txt"), "sha256": "0" * 16}
    with pytest.raises(UserError, match="changed after the workflow was planned"):
        split_job(tmp_path / "b.h5", spec, "list-a", 0, "eval", tmp_path / "s.h5", dataset_cfg=syn)
    with pytest.raises(UserError, match="training image 7 is not in the dataset bundle"):
        to_bundle(np.array([3, 7]), np.array([0, 1, 2, 3]), "a.txt")


def test_list_forget_sets_in_the_config(tmp_path):
    (tmp_path / "gdpr-0412.csv").write_text("unlearn_idx\n4\n9\n11\n")
    base = {"dataset": {"name": "synthetic", "synthetic": {"n_train": 60}}, "tuning": {"enabled": True}}
    entry = {"kind": "list", "path": str(tmp_path / "gdpr-0412.csv")}
    cfg = validate_config({**base, "forget_sets": [entry]})
    exp = Experiment(cfg)
    assert forget_set_id(entry) == "list-gdpr-0412" and exp.split_seeds("list-gdpr-0412") == [0]
    assert exp.list_size("list-gdpr-0412") == 3 and exp.tuned_forget_sets() == ["list-gdpr-0412"]
    assert (("list-gdpr-0412", cfg["tuning_seed"])) in exp.all_splits()
    assert exp.split_role("list-gdpr-0412", cfg["tuning_seed"]) == "tuning"
    assert forget_set_id({**entry, "name": "req7"}) == "list-req7"
    for bad, match in (
        ({**entry, "size": 3}, r"forget_sets\[0\]: a list forget set takes 'path' and not 'size'"),
        ({"kind": "list"}, r"a list forget set takes 'path'"),
        ({"kind": "random", "size": 0.1, "path": "x"}, r"and not 'path'"),
        ({**entry, "name": "a/b"}, r"name"),
    ):
        with pytest.raises(UserError, match=match):
            validate_config({**base, "forget_sets": [bad]})
    with pytest.raises(UserError, match=r"tuning_seed: 0 is forget_sets\[0\]'s \(a list's\) own split seed"):
        validate_config({**base, "forget_sets": [entry], "tuning_seed": 0})
    (tmp_path / "same.txt").write_text("11\n4\n9\n")
    with pytest.raises(UserError, match="entries 0 and 1 are the same forget set"):
        validate_config({**base, "forget_sets": [entry, {"kind": "list", "path": str(tmp_path / "same.txt")}]})
    (tmp_path / "bad.csv").write_text("unlearn_idx\n4\n60\n")
    with pytest.raises(UserError, match=r"bad\.csv, line 3: index 60 is outside the 60 training images"):
        validate_config({**base, "forget_sets": [{"kind": "list", "path": str(tmp_path / "bad.csv")}]})
