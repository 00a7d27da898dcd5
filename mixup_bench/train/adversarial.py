"""Adversarial robustness: accuracy under FGSM and PGD in an L-infinity ball, in fp32 and eval mode.

The MixUp paper (Zhang et al., 2018, section 3.5) reports that MixUp makes a network harder to
fool with FGSM and iterative FGSM. These attacks follow torchattacks' `FGSM` and `PGD` step for
step (tests/train/test_adversarial.py checks the accuracies are equal on the same model, inputs and
epsilon): images live on the [0, 1] pixel scale, every adversarial image is clipped to [0, 1]
before the classifier standardises it, and the loss is the batch's mean cross-entropy.

`classify` is any function from [0, 1] images (N, 3, H, W) float32 to logits: the caller puts the
model in eval mode and the standardisation in front of it. Autocast is switched off here, so the
gradients and the attacked predictions are fp32 whatever the run trains in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

Classifier = Callable[[torch.Tensor], torch.Tensor]

PGD_STEPS = 10
PGD_STEP_FRACTION = 0.25  # step size = eps / 4: 2.5 * eps / steps (Madry et al., 2018) at 10 steps


def input_gradient(classify: Classifier, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d(mean cross-entropy)/d(images) at `x`, in fp32; no parameter gradient is computed or stored."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), _fp32(x):
        loss = F.cross_entropy(classify(x), y)
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def correct_count(classify: Classifier, x: torch.Tensor, y: torch.Tensor) -> int:
    """How many of `x` (N, 3, H, W) in [0, 1] the classifier gets right, in fp32."""
    with torch.no_grad(), _fp32(x):
        return int((classify(x).argmax(dim=1) == y).sum())


def fgsm(x: torch.Tensor, grad: torch.Tensor, eps: float) -> torch.Tensor:
    """The fast gradient sign step: x + eps * sign(grad), clipped to [0, 1]."""
    return (x + eps * grad.sign()).clamp(0.0, 1.0)


def fgsm_accuracies(
    classify: Classifier, x: torch.Tensor, y: torch.Tensor, epsilons: Sequence[float], batch_size: int
) -> dict[float, float]:
    """Accuracy under FGSM at each of `epsilons` (pixel scale, e.g. 2/255), on images x (N, 3, H, W) in [0, 1].

    FGSM's gradient is taken at the clean image, so one backward pass per batch serves every epsilon.
    """
    correct = dict.fromkeys(epsilons, 0)
    for i in range(0, x.shape[0], batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        grad = input_gradient(classify, xb, yb)
        for eps in epsilons:
            correct[eps] += correct_count(classify, fgsm(xb, grad, eps), yb)
    return {eps: c / x.shape[0] for eps, c in correct.items()}


def pgd(
    classify: Classifier,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    start: torch.Tensor,
    steps: int = PGD_STEPS,
    step_size: float | None = None,
) -> torch.Tensor:
    """Projected gradient descent on the loss (Madry et al., 2018), as torchattacks' PGD: from x + `start`
    (uniform in [-eps, eps], clipped to [0, 1]), `steps` signed-gradient steps of `step_size` (default
    eps * PGD_STEP_FRACTION), each projected back into the eps-ball around x and into [0, 1]."""
    step_size = eps * PGD_STEP_FRACTION if step_size is None else step_size
    adv = (x + start).clamp(0.0, 1.0)
    for _ in range(steps):
        adv = adv + step_size * input_gradient(classify, adv, y).sign()
        adv = (x + (adv - x).clamp(-eps, eps)).clamp(0.0, 1.0)
    return adv


def pgd_accuracy(
    classify: Classifier,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    batch_size: int,
    generator: torch.Generator,
    steps: int = PGD_STEPS,
    step_size: float | None = None,
) -> float:
    """Accuracy under `pgd` on images x (N, 3, H, W) in [0, 1]. The random starts of all N images are drawn
    at once from `generator` (on x's device), so they do not depend on the batch size."""
    start = torch.empty_like(x).uniform_(-eps, eps, generator=generator)
    correct = 0
    for i in range(0, x.shape[0], batch_size):
        sl = slice(i, i + batch_size)
        adv = pgd(classify, x[sl], y[sl], eps, start[sl], steps, step_size)
        correct += correct_count(classify, adv, y[sl])
    return correct / x.shape[0]


def _fp32(x: torch.Tensor) -> torch.autocast:
    """A context with autocast off on x's device: attacks and their predictions stay in fp32."""
    return torch.autocast(x.device.type, enabled=False)
