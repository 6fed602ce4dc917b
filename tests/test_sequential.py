import json

import numpy as np
import pandas as pd
import pytest

from amunflow.adversarial import read_adversarial
from amunflow.io import file_hash
from amunflow.sequential import request_splits
from amunflow.splits import Split, load_split

from .helpers import CONFIGS, snakemake


def test_request_splits_chunk_the_forget_set_in_draw_order():
    base = Split(np.array([9, 3, 7, 1, 5, 0]), np.array([2, 4, 6, 8]), {"seed": 1})
    req, cum = request_splits(base, 3, 1)
    np.testing.assert_array_equal(req.forget, [7, 1])
    np.testing.assert_array_equal(cum.forget, [9, 3, 7, 1])
    # retained: everything not forgotten by requests 0..1, including the later chunk [5, 0]
    np.testing.assert_array_equal(req.retain, [0, 2, 4, 5, 6, 8])
    np.testing.assert_array_equal(cum.retain, req.retain)
    assert req.attrs["request"] == 1 and cum.attrs["cumulative"]


@pytest.mark.workflow
def test_sequential_requests_chain_models_and_adaptive_da(tmp_path):
    work = tmp_path / "run"
    snakemake(work, "--configfile", str(CONFIGS / "sequential.yaml"))
    res = work / "results"
    seq = res / "sequential"
    original = res / "models" / "original" / "seed1.pt"
    static_da = res / "adversarial" / "seed1" / "random0.25" / "split1.h5"

    def model(name, k):
        return seq / "models" / name / "with_retain" / "random0.25" / "split1" / "seed1" / f"req{k}.pt"

    for name in ("amun", "rl", "scrub", "amun_adaptive"):
        for k in range(3):
            side = json.loads(model(name, k).with_suffix(".json").read_text())
            prev = original if k == 0 else model(name, k - 1)
            assert side["source_checkpoint"] == str(prev.relative_to(work))  # request k starts from k-1
            assert side["source_checkpoint_hash"] == file_hash(prev)
            split = load_split(res / "sequential" / "splits" / "random0.25" / "split1" / f"req{k}.h5")
            assert side["split_hash"] == split.hash and len(split.forget) == 16
            if name == "amun":  # plain AMUN: the original model's D_A throughout
                assert side["adversarial"] == str(static_da.relative_to(work))
    for k in range(3):  # AMUN-A: D_A for request k built on request k-1's model
        da = seq / "adversarial" / "amun_adaptive" / "with_retain" / "random0.25" / "split1" / "seed1" / f"req{k}.h5"
        _, attrs = read_adversarial(da)
        assert attrs["checkpoint_hash"] == file_hash(original if k == 0 else model("amun_adaptive", k - 1))
    summary = pd.read_csv(str(seq / "summary.csv"))
    assert len(summary) == 12 and set(summary["request"]) == {0, 1, 2}
    assert np.allclose(summary["fr_minus_ft"], summary["fr_auc"] - summary["ft_auc"])
    cum = load_split(seq / "splits" / "random0.25" / "split1" / "cum2.h5")
    assert len(cum.forget) == 48  # metrics after the last request cover the whole forget set
    assert (seq / "fr_minus_ft.png").read_bytes()[:4] == b"\x89PNG"
