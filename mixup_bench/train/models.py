"""Model registry: `small-cnn` (default, fast on a CPU) and `preact-resnet18` (the paper's)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    """conv-BN-ReLU net, widths 32-32 | 64-64 | 128-128 with max pooling; ~0.29M parameters.

    (B, 3, 32, 32) -> 32x32 -> pool 16x16 -> pool 8x8 -> pool 4x4 -> global max -> (B, classes)
    """

    def __init__(self, num_classes: int = 10, widths: tuple[int, int, int] = (32, 64, 128)):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for w in widths:
            layers += _conv_bn_relu(c_in, w) + _conv_bn_relu(w, w) + [nn.MaxPool2d(2)]
            c_in = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, 128, 4, 4)
        return self.head(torch.amax(x, dim=(2, 3)))

    def stages(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        """The forward as a chain, for Manifold MixUp (`forward_stages(stages(), x)` == forward(x)).

        (B,3,32,32) -> block 1 (B,32,16,16) -> block 2 (B,64,8,8) -> block 3 + head (B,classes).
        """
        f = self.features
        return [f[0:7], f[7:14], lambda h: self.head(torch.amax(f[14:](h), dim=(2, 3)))]


class PreActBlock(nn.Module):
    """Pre-activation basic block (He et al., 2016), as in facebookresearch/mixup-cifar10."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Conv2d(c_in, c_out, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    """PreAct ResNet-18 for 32x32 inputs; ~11.2M parameters."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        blocks: list[nn.Module] = []
        c_in = 64
        for c_out, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [PreActBlock(c_in, c_out, stride), PreActBlock(c_out, c_out, 1)]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(512)
        self.head = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.conv1(x))  # (B, 512, 4, 4)
        x = F.relu(self.bn(x))
        return self.head(x.mean(dim=(2, 3)))

    def stages(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        """The forward as a chain, for Manifold MixUp (Verma et al. mix after layer 1 or 2).

        (B,3,32,32) -> conv1 + layer 1 (B,64,32,32) -> layer 2 (B,128,16,16) -> layers 3-4 + head (B,classes).
        """
        b = self.blocks
        return [
            lambda x: b[0:2](self.conv1(x)),
            b[2:4],
            lambda h: self.head(F.relu(self.bn(b[4:](h))).mean(dim=(2, 3))),
        ]


MODELS: dict[str, Callable[[int], nn.Module]] = {
    "small-cnn": SmallCNN,
    "preact-resnet18": PreActResNet18,
}


def build_model(name: str, num_classes: int = 10) -> nn.Module:
    """A fresh model from the registry; its weights come from torch's global RNG."""
    return MODELS[name](num_classes)


def forward_stages(stages: list[Callable[[torch.Tensor], torch.Tensor]], x: torch.Tensor) -> torch.Tensor:
    """Run a model's `stages()` in order: the same function as its forward."""
    for stage in stages:
        x = stage(x)
    return x


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
