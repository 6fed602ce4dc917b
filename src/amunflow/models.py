"""The paper's networks: the CIFAR ResNet-18 of the AMUN code (with its /2 quirk) and VGG-19-BN.

ResNet-18 (docs/protocol.md §1): 3x3 stem conv (stride 1) -> BN -> ReLU, no max-pool; BasicBlocks [2, 2, 2, 2]
with widths w, 2w, 4w, 8w (w = 64 in the paper: 11,173,962 parameters for 10 classes); a block whose
shortcut is a 1x1-conv projection divides the residual sum by 2 before its final ReLU
(``block: amun``); ``block: standard`` drops the /2 (a kuangliu ResNet-18, a documented deviation).
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from . import UserError
from .schema import section

log = logging.getLogger(__name__)

ARCHS = ("resnet18", "vgg19_bn")


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, halve_projection: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.projection = stride != 1 or c_in != c_out
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if self.projection
            else nn.Identity()
        )
        self.halve = halve_projection and self.projection

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out)) + self.shortcut(x)
        if self.halve:
            out = out / 2
        return F.relu(out)


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 64, halve_projection: bool = True, in_channels: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, c_in = [], width
        for i, stride in enumerate((1, 2, 2, 2)):
            c_out = width * 2**i
            layers.append(
                nn.Sequential(
                    BasicBlock(c_in, c_out, stride, halve_projection), BasicBlock(c_out, c_out, 1, halve_projection)
                )
            )
            c_in = c_out
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(c_in, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        # the paper uses avg_pool2d(out, 4) on 4x4 maps; adaptive pooling is the same there and
        # also serves other image sizes
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]


class VGG19BN(nn.Module):
    """VGG-19 with BN (conv3x3 + BN + ReLU, max-pool), classifier Linear(512 * (H/32)^2, classes)."""

    def __init__(self, num_classes: int = 10, width: int = 64, image_size: int = 32, in_channels: int = 3):
        super().__init__()
        layers, c_in = [], in_channels
        for v in VGG19_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                c_out = v * width // 64
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
                c_in = c_out
        self.features = nn.Sequential(*layers)
        if image_size % 32:
            raise UserError(f"config key model.arch: vgg19_bn needs an image size divisible by 32, got {image_size}.")
        self.classifier = nn.Linear(c_in * (image_size // 32) ** 2, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def stages(model: nn.Module) -> tuple[list[list[nn.Module]], nn.Module]:
    """The network's stages in order (ResNet-18: layer1..layer4; VGG-19: the conv groups between
    max-pools) and its classifier, for methods that act on the last k stages (CF-k, EU-k). The stem
    (ResNet's first conv and BN) belongs to no stage."""
    if isinstance(model, ResNet18):
        return [[model.layer1], [model.layer2], [model.layer3], [model.layer4]], model.linear
    if isinstance(model, VGG19BN):
        groups, cur = [], []
        for m in model.features:
            cur.append(m)
            if isinstance(m, nn.MaxPool2d):
                groups.append(cur)
                cur = []
        return groups, model.classifier
    raise TypeError(f"no stage list for {type(model).__name__}")


def build_model(cfg: dict, num_classes: int, image_size: int = 32) -> nn.Module:
    """Build the network named by the ``model`` config section (or part of one: the schema's defaults
    fill the rest, and its checks apply)."""
    cfg = section("model", cfg)
    if cfg["arch"].startswith("torchvision."):
        import torchvision.models

        name = cfg["arch"].removeprefix("torchvision.")
        if name not in torchvision.models.list_models(module=torchvision.models):
            raise UserError(
                f"config key model.arch: torchvision has no classifier {name!r}; name one of "
                "torchvision.models.list_models(module=torchvision.models), e.g. torchvision.resnet18."
            )
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    if cfg["arch"] == "resnet18":
        return ResNet18(num_classes, cfg["width"], halve_projection=cfg["block"] == "amun")
    return VGG19BN(num_classes, cfg["width"], image_size)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def to_device(model: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A frozen eval-mode copy of ``model`` with each BatchNorm folded into the conv before it.

    The same function up to float rounding with fewer operations per pass: the attack runs ~100
    forward/backward passes per sample through a fixed model (1.2-1.6x faster on a CPU). Falls back
    to ``model`` itself when torch.fx cannot trace it.
    """
    from torch.fx.experimental.optimization import fuse

    model.eval()
    try:
        folded = fuse(model, inplace=False)
    except Exception as e:  # noqa: BLE001 - any tracing failure means: run the model unfolded
        log.info("BatchNorm folding skipped (%s: %s)", type(e).__name__, e)
        return model
    for p in folded.parameters():
        p.requires_grad_(False)
    return folded


def param_distance(a: dict, b: dict) -> float:
    """L2 distance between the parameters of two state dicts (BN running statistics excluded)."""
    sq = 0.0
    for k, v in a.items():
        if v.is_floating_point() and "running_" not in k:
            sq += float(((v.double() - b[k].double()) ** 2).sum())
    return sq**0.5
