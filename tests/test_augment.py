import torch
import torch.nn.functional as F

from amunflow.augment import augment


def test_crop_offsets_within_padding_and_pixels_match_slices():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(256, 3, 8, 8)
    out, dy, dx, flips = augment(x, g, padding=4, flip=True, return_params=True)
    assert out.shape == x.shape
    assert dy.min() >= 0 and dy.max() <= 8 and dx.min() >= 0 and dx.max() <= 8
    # all 9 offsets occur over 256 samples, and both flip states
    assert set(dy.tolist()) == set(range(9)) and 0.3 < flips.float().mean() < 0.7
    padded = F.pad(x, (4, 4, 4, 4))
    for i in range(len(x)):  # per-sample reference
        ref = padded[i, :, dy[i] : dy[i] + 8, dx[i] : dx[i] + 8]
        if flips[i]:
            ref = ref.flip(-1)
        torch.testing.assert_close(out[i], ref, rtol=0, atol=0)


def test_padding_is_zero_and_no_flip_when_disabled():
    g = torch.Generator().manual_seed(1)
    x = torch.ones(64, 3, 6, 6)
    out, dy, dx, flips = augment(x, g, padding=2, flip=False, return_params=True)
    assert not flips.any()
    # a sample shifted by (dy, dx) has exactly (|dy-2| rows and |dx-2| cols) of zero fill
    for i in range(64):
        rows, cols = abs(int(dy[i]) - 2), abs(int(dx[i]) - 2)
        assert int((out[i, 0] == 0).sum()) == 36 - (6 - rows) * (6 - cols)
    # centre offset (2, 2) reproduces the input
    centre = (dy == 2) & (dx == 2)
    torch.testing.assert_close(out[centre], x[centre])


def test_flip_only_mirrors_columns():
    g = torch.Generator().manual_seed(2)
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5).repeat(50, 1, 1, 1)
    out, _, _, flips = augment(x, g, padding=0, flip=True, return_params=True)
    torch.testing.assert_close(out[flips], x[flips].flip(3))
    torch.testing.assert_close(out[~flips], x[~flips])


def test_same_generator_seed_same_augmentation():
    x = torch.rand(16, 3, 8, 8)
    a = augment(x, torch.Generator().manual_seed(5))
    b = augment(x, torch.Generator().manual_seed(5))
    c = augment(x, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
