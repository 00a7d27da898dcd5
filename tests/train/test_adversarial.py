"""FGSM and PGD: equal to torchattacks on the same model, images, labels and epsilon (when torchattacks is
installed: it is a test-only dependency), and the properties every attack must have."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mixup_bench.train import adversarial as A
from mixup_bench.train.data import CIFAR10_MEAN, CIFAR10_STD
from mixup_bench.train.models import build_model

EPS = (1 / 255, 2 / 255, 4 / 255)


class Standardised(nn.Module):
    """[0, 1] images -> logits: the standardisation in front of an eval-mode small-cnn, as `shift` builds it."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = build_model("small-cnn", 10).eval()
        self.register_buffer("mean", torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CIFAR10_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    """48 images in [0, 1]."""
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(48, 3, 1, 1, generator=g) * 0.6 + 0.2 + 0.15 * torch.randn(48, 3, 32, 32, generator=g)).clamp(0, 1)
    return x


@pytest.fixture(scope="module")
def model(batch) -> Standardised:
    """The model, with the BatchNorm statistics of the images, so that its predictions vary (at
    initialisation they are all one class)."""
    m = Standardised()
    for module in m.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    with torch.no_grad():
        m.train()(batch)
    return m.eval()


@pytest.fixture(scope="module")
def labelled(model, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The images labelled with the model's own clean predictions: clean accuracy is 100%, so every
    point an attack takes off is an image it flipped."""
    with torch.no_grad():
        y = model(batch).argmax(dim=1)
    assert len(set(y.tolist())) > 1
    return batch, y


def test_fgsm_equals_torchattacks(model, labelled):
    torchattacks = pytest.importorskip("torchattacks")
    x, y = labelled
    ours = A.fgsm_accuracies(model, x, y, EPS, batch_size=len(x))
    grad = A.input_gradient(model, x, y)
    for eps in EPS:
        theirs_adv = torchattacks.FGSM(model, eps=eps)(x, y)
        assert torch.equal(A.fgsm(x, grad, eps), theirs_adv)
        with torch.no_grad():
            theirs = int((model(theirs_adv).argmax(1) == y).sum()) / len(y)
        assert ours[eps] == pytest.approx(theirs, abs=1e-12)
    assert 0.0 < ours[EPS[0]] < 1.0  # some images flip and some do not: the comparison is not vacuous


@pytest.mark.parametrize("eps", (0.25 / 255, 2 / 255))
def test_pgd_equals_torchattacks(model, labelled, eps):
    torchattacks = pytest.importorskip("torchattacks")
    x, y = labelled
    torch.manual_seed(5)  # torchattacks draws its random start from the global generator
    theirs_adv = torchattacks.PGD(model, eps=eps, alpha=eps * A.PGD_STEP_FRACTION, steps=A.PGD_STEPS)(x, y)
    start = torch.empty_like(x).uniform_(-eps, eps, generator=torch.Generator().manual_seed(5))
    assert torch.equal(A.pgd(model, x, y, eps, start), theirs_adv)
    with torch.no_grad():
        theirs = int((model(theirs_adv).argmax(1) == y).sum()) / len(y)
    ours = A.pgd_accuracy(model, x, y, eps, batch_size=len(x), generator=torch.Generator().manual_seed(5))
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert ours < 1.0


def test_pgd_stays_in_the_ball_and_the_pixel_range(model, labelled):
    x, y = labelled
    eps = 4 / 255
    start = torch.empty_like(x).uniform_(-eps, eps, generator=torch.Generator().manual_seed(0))
    adv = A.pgd(model, x, y, eps, start, steps=3)
    assert float((adv - x).abs().max()) <= eps + 1e-6
    assert float(adv.min()) >= 0.0 and float(adv.max()) <= 1.0
    assert not torch.equal(adv, x)


def test_stronger_attacks_take_more(model, labelled):
    x, y = labelled
    fgsm = A.fgsm_accuracies(model, x, y, EPS, batch_size=16)
    assert fgsm[EPS[0]] >= fgsm[EPS[2]]
    pgd = A.pgd_accuracy(model, x, y, 1 / 255, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert pgd <= fgsm[1 / 255]  # ten projected steps find at least what one step finds here


def test_pgd_does_not_depend_on_the_batch_size_and_follows_its_generator(model, labelled):
    x, y = labelled
    runs = [A.pgd_accuracy(model, x, y, 2 / 255, batch_size=b, generator=torch.Generator().manual_seed(3)) for b in
            (48, 48, 7)]  # fmt: skip
    assert runs[0] == runs[1] == runs[2]


def test_attacks_are_fp32_inside_a_bf16_autocast(model, labelled):
    x, y = labelled
    plain = A.fgsm_accuracies(model, x, y, EPS, batch_size=48)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert A.fgsm_accuracies(model, x, y, EPS, batch_size=48) == plain
        assert A.input_gradient(model, x, y).dtype == torch.float32


def test_no_parameter_gradient_is_left_behind(model, labelled):
    x, y = labelled
    A.pgd_accuracy(model, x, y, 2 / 255, batch_size=48, generator=torch.Generator().manual_seed(0), steps=2)
    assert all(p.grad is None for p in model.parameters())
