"""The fast training path is the textbook computation, only faster: numerics and augmentation checks.

No timings here: speed is measured by `mixup-bench bench`, never asserted in tests.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from mixup_bench.bench.naive import mixup_criterion
from mixup_bench.train.augment import random_crop_flip
from mixup_bench.train.data import CIFAR10_MEAN, CIFAR10_STD
from mixup_bench.train.evaluate import ECE_BINS, evaluate
from mixup_bench.train.mixup import MixUp, mixed_cross_entropy
from mixup_bench.train.models import build_model
from mixup_bench.train.splits import Split
from mixup_bench.train.step import Normalize, StepContext, take_batch, train_step

CPU = torch.device("cpu")
B = 16


def batch(seed: int = 0, n: int = B) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    return x, torch.randint(0, 10, (n,), generator=g)


def textbook_normalize(x_uint8: torch.Tensor) -> torch.Tensor:
    """(x/255 - mean)/std in fp32 NCHW: what torchvision's ToTensor + Normalize compute."""
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return (x_uint8.float() / 255 - mean) / std


def models(name: str = "small-cnn"):
    """The same initial weights twice: a channels_last one for the fast path, an NCHW one for the reference."""
    torch.manual_seed(0)
    ref = build_model(name)
    fast = copy.deepcopy(ref).to(memory_format=torch.channels_last)
    return fast, ref


def sgd(model, lr: float = 0.05):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)


def fast_step(model, x, y, amp, alpha=0.4, augment=False, data_seed=1, mix_seed=2):
    ctx = StepContext(
        model,
        sgd(model),
        None,
        Normalize(CPU),
        MixUp(alpha, torch.Generator().manual_seed(mix_seed)),
        torch.Generator().manual_seed(data_seed),
        augment,
        amp,
    )
    model.train()
    return train_step(ctx, x, y)


def reference_step(model, x, y, alpha=0.4, augment=False, data_seed=1, mix_seed=2):
    """fp32, NCHW, textbook normalise; the same lam and pairing (same generator, same draws)."""
    if augment:
        x = random_crop_flip(x, torch.Generator().manual_seed(data_seed)).contiguous()
    xn = textbook_normalize(x)
    mixed = MixUp(alpha, torch.Generator().manual_seed(mix_seed))(xn, y)
    opt = sgd(model)
    model.train()
    loss = mixup_criterion(F.cross_entropy, model(mixed.x.contiguous()), mixed.y_a, mixed.y_b, mixed.lam)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.detach(), mixed.lam


@pytest.mark.parametrize("augment", [False, True])
def test_fp32_fast_step_equals_reference_step(augment):
    fast, ref = models()
    x, y = batch()
    out = fast_step(fast, x, y, amp=None, augment=augment)
    ref_loss, lam = reference_step(ref, x, y, augment=augment)
    assert out.lam == lam and 0 < lam < 1
    assert out.loss.dtype == torch.float32 and out.loss.shape == ()
    torch.testing.assert_close(out.loss, ref_loss, rtol=1e-5, atol=1e-5)
    # The whole step, optimizer included: the updated weights agree too. Not bit for bit: oneDNN's
    # fp32 channels_last convolutions (backward data) round differently from the NCHW ones, about
    # 1e-4 of a gradient, i.e. under 1% of this step's update (lr 0.05 x gradients of ~0.5).
    for p_fast, p_ref in zip(fast.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p_fast, p_ref, rtol=1e-3, atol=5e-4)


@pytest.mark.parametrize("name", ["small-cnn", "preact-resnet18"])
def test_bf16_fast_step_matches_fp32_reference_within_bf16_tolerance(name):
    fast, ref = models(name)
    x, y = batch(seed=3, n=8 if name == "preact-resnet18" else B)
    out = fast_step(fast, x, y, amp=torch.bfloat16)
    ref_loss, _ = reference_step(ref, x, y)
    assert out.loss.dtype == torch.float32  # the loss is computed in fp32 even under bf16 autocast
    torch.testing.assert_close(out.loss, ref_loss, rtol=2e-2, atol=2e-2)
    assert torch.isfinite(out.correct) and 0 <= float(out.correct) <= x.shape[0]


def test_bf16_training_follows_fp32_training_for_a_few_steps():
    """Five steps on the same batches: the bf16 loss curve stays within bf16 tolerance of fp32's."""
    fast, ref = models()
    losses = {}
    for label, model, amp in (
        ("bf16", fast, torch.bfloat16),
        ("fp32", ref.to(memory_format=torch.channels_last), None),
    ):
        ctx = StepContext(
            model,
            sgd(model, lr=0.01),
            None,
            Normalize(CPU),
            MixUp(0.4, torch.Generator().manual_seed(2)),
            torch.Generator().manual_seed(1),
            True,  # augment
            amp,
        )
        model.train()
        losses[label] = torch.stack([train_step(ctx, *batch(seed=s)).loss for s in range(5)])
    torch.testing.assert_close(losses["bf16"], losses["fp32"], rtol=3e-2, atol=3e-2)


def test_mixed_loss_is_fp32_and_matches_textbook_criterion():
    logits = torch.randn(B, 10).to(torch.bfloat16)
    y_a, y_b = torch.randint(0, 10, (B,)), torch.randint(0, 10, (B,))
    got = mixed_cross_entropy(logits, y_a, y_b, 0.3)
    want = mixup_criterion(F.cross_entropy, logits.float(), y_a, y_b, 0.3)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want)


# --- batches and evaluation ------------------------------------------------------


def test_take_batch_is_the_indexed_slice():
    x, y = batch(n=40)
    split = Split(x, y)
    order = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    xb, yb = take_batch(split, order, 2, 8)
    assert torch.equal(xb, x[order[16:24]]) and torch.equal(yb, y[order[16:24]])


def reference_evaluate(model, split, n_bins=ECE_BINS):
    """Plain fp32 evaluation, one image at a time for the bins."""
    model.eval()
    with torch.no_grad():
        logits = model(textbook_normalize(split.x))
    probs = logits.softmax(dim=1)
    conf, pred = probs.max(dim=1)
    count = torch.zeros(n_bins)
    conf_sum = torch.zeros(n_bins)
    hit_sum = torch.zeros(n_bins)
    for c, p, t in zip(conf.tolist(), pred.tolist(), split.y.tolist(), strict=True):
        k = min(max(int(torch.tensor(c * n_bins).ceil()), 1), n_bins) - 1
        count[k] += 1
        conf_sum[k] += c
        hit_sum[k] += float(p == t)
    n = len(split.y)
    return F.cross_entropy(logits, split.y).item(), hit_sum.sum().item() / n, count, conf_sum, hit_sum


def test_evaluate_matches_plain_fp32_evaluation():
    torch.manual_seed(0)
    model = build_model("small-cnn").to(memory_format=torch.channels_last)
    model.train()
    with torch.no_grad():  # give BN non-trivial running statistics
        for s in range(3):
            model(textbook_normalize(batch(seed=s, n=32)[0]))
    x, y = batch(seed=9, n=50)
    split = Split(x, y)
    got = evaluate(model, split, Normalize(CPU), batch_size=16, autocast_dtype=None)  # 16 does not divide 50
    loss, acc, count, conf_sum, hit_sum = reference_evaluate(model, split)
    assert got.loss == pytest.approx(loss, rel=1e-5)
    assert got.acc == pytest.approx(acc)
    assert got.calibration["count"] == [int(c) for c in count.tolist()]
    assert got.calibration["confidence_sum"] == pytest.approx(conf_sum.tolist(), abs=1e-5)
    assert got.calibration["correct_sum"] == pytest.approx(hit_sum.tolist())
    assert got.ece == pytest.approx((conf_sum - hit_sum).abs().sum().item() / 50, abs=1e-6)
    assert not torch.is_inference_mode_enabled()  # evaluate leaves training usable


def test_evaluate_under_bf16_is_close_to_fp32():
    torch.manual_seed(0)
    model = build_model("small-cnn").to(memory_format=torch.channels_last)
    split = Split(*batch(seed=4, n=64))
    a = evaluate(model, split, Normalize(CPU), 32, None)
    b = evaluate(model, split, Normalize(CPU), 32, torch.bfloat16)
    assert b.loss == pytest.approx(a.loss, rel=2e-2)
    assert sum(b.calibration["count"]) == 64


def test_normalize_is_the_textbook_transform_in_channels_last():
    x, _ = batch()
    out = Normalize(CPU)(x)
    assert out.dtype == torch.float32 and out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, textbook_normalize(x), rtol=1e-5, atol=1e-5)
    out_cl = Normalize(CPU)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out_cl, out, rtol=0, atol=0)


# --- augmentation -------------------------------------------------------------------


def per_image_crop_flip(x: torch.Tensor, seed: int, pad: int = 4) -> torch.Tensor:
    """torchvision-style reference, one image at a time, with the documented draws:
    offsets randint(0, 2*pad+1, (2, B, 1)) for rows then columns, then rand(B, 1) < 0.5 for flips."""
    g = torch.Generator().manual_seed(seed)
    b, _, h, w = x.shape
    oy, ox = torch.randint(0, 2 * pad + 1, (2, b, 1), generator=g)
    flip = torch.rand(b, 1, generator=g) < 0.5
    out = []
    for i in range(b):
        img = F.pad(x[i], (pad, pad, pad, pad))[:, oy[i, 0] : oy[i, 0] + h, ox[i, 0] : ox[i, 0] + w]
        out.append(img.flip(-1) if flip[i, 0] else img)
    return torch.stack(out)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_augment_keeps_shape_dtype_and_is_deterministic(dtype):
    x = batch(n=32)[0].to(dtype)
    a = random_crop_flip(x, torch.Generator().manual_seed(7))
    b = random_crop_flip(x, torch.Generator().manual_seed(7))
    c = random_crop_flip(x, torch.Generator().manual_seed(8))
    assert a.shape == x.shape and a.dtype == dtype and a.device == x.device
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert a.is_contiguous(memory_format=torch.channels_last)


def test_augment_equals_per_image_crop_and_flip():
    x = batch(n=64)[0]
    got = random_crop_flip(x, torch.Generator().manual_seed(11))
    assert torch.equal(got, per_image_crop_flip(x, 11))
    # channels_last input, same draws, same result
    assert torch.equal(
        random_crop_flip(x.contiguous(memory_format=torch.channels_last), torch.Generator().manual_seed(11)), got
    )


def test_augment_really_crops_with_zero_padding():
    x = torch.full((64, 3, 32, 32), 200, dtype=torch.uint8)
    out = random_crop_flip(x, torch.Generator().manual_seed(0))
    shifted = [(out[i] == 0).any().item() for i in range(64)]
    # offset (pad, pad) keeps the whole image; every other offset brings in zero borders
    assert sum(shifted) > 32
    assert (out[out != 200] == 0).all()  # only the padding value comes in


def test_augment_with_no_padding_only_flips():
    x = batch(n=64)[0]
    out = random_crop_flip(x, torch.Generator().manual_seed(5), pad=0)
    flipped = [torch.equal(out[i], torch.flip(x[i], dims=[-1])) for i in range(64)]
    kept = [torch.equal(out[i], x[i]) for i in range(64)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 10 < sum(flipped) < 54 and 10 < sum(kept) < 54  # both happen, about half each
