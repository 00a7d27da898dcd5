"""Model registry: `small-cnn` (default, fast on a CPU) and `preact-resnet18` (the paper's).

The names live in `naming.MODEL_NAMES`, so that the configuration checks `--model` without torch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from mixup_bench.naming import FAST_CNN, MODEL_NAMES, PREACT_RESNET18, SMALL_CNN


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    """conv-BN-ReLU net, widths 32-32 | 64-64 | 128-128 with max pooling; ~0.29M parameters.

    (B, 3, 32, 32) -> 32x32 -> pool 16x16 -> pool 8x8 -> pool 4x4 -> global max -> (B, classes)

    `convs` sets the conv-BN-ReLU layers per stage. The default (2, 2, 2) is `small-cnn`, unchanged
    since the first release so that committed results stay reproducible; `fast-cnn` is (1, 2, 2) at
    widths 16 | 32 | 64.
    """

    def __init__(
        self,
        num_classes: int = 10,
        widths: tuple[int, int, int] = (32, 64, 128),
        convs: tuple[int, int, int] = (2, 2, 2),
    ):
        super().__init__()
        layers: list[nn.Module] = []
        self._stage_ends: list[int] = []  # index after each stage's pooling, for stages()
        c_in = 3
        for w, n in zip(widths, convs, strict=True):
            layers += _conv_bn_relu(c_in, w)
            for _ in range(n - 1):
                layers += _conv_bn_relu(w, w)
            layers.append(nn.MaxPool2d(2))
            self._stage_ends.append(len(layers))
            c_in = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, widths[2], 4, 4)
        return self.head(torch.amax(x, dim=(2, 3)))

    def stages(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        """The forward as a chain, for Manifold MixUp (`forward_stages(stages(), x)` == forward(x)).

        (B,3,32,32) -> block 1 (B,w1,16,16) -> block 2 (B,w2,8,8) -> block 3 + head (B,classes).
        """
        f, (a, b, _) = self.features, self._stage_ends
        return [f[0:a], f[a:b], lambda h: self.head(torch.amax(f[b:](h), dim=(2, 3)))]


def fast_cnn(num_classes: int = 10) -> SmallCNN:
    """`fast-cnn`: small-cnn with one conv at 32x32 and widths 16 | 32 | 64; ~0.07M parameters.

    Why: most of small-cnn's cost is its two full-resolution convs and its width. On a 1-thread
    AVX2 fp32 job (emulated) it trains at about 1,550 images/s against small-cnn's 285, and
    evaluates at about 2,900 against 630, which brings the default preset's verdict under ten
    minutes on a 2-core CPU without bf16.
    """
    return SmallCNN(num_classes, widths=(16, 32, 64), convs=(1, 2, 2))


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
    SMALL_CNN: SmallCNN,
    FAST_CNN: fast_cnn,
    PREACT_RESNET18: PreActResNet18,
}
assert set(MODELS) == set(MODEL_NAMES), "every name in naming.MODEL_NAMES needs a model here"


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
