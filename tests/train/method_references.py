"""Short ports of the reference implementations of the new mixing methods, with their random draws
injected as arguments (the originals draw from numpy's, Python's or torch's global RNGs), for
tests/train/test_methods.py. Each keeps the reference's arithmetic, axis names and quirks; only the
draws, the device (.cuda()) and unused branches (dist_mode, return_mask, max_soft > 0) are cut.

Sources:
- FMix: ecs-vlc/FMix, fmix.py, commit e5991dca018882734c8ea63599f10dfbe67fa0ae.
- ResizeMix, GridMix, SmoothMix: Westlake-AI/openmixup, openmixup/models/augments/{resizemix,gridmix,
  smoothmix}.py, commit 37e1372446ab35c03fcf77302539bd4a5bee47eb.
- SaliencyMix: afm-shahab-uddin/SaliencyMix, SaliencyMix_CIFAR/saliencymix.py (`saliency_bbox` and the
  training loop), commit 9ee02b87974efab1ee7a5229408a58a0e0bbf825, with the saliency map of
  opencv/opencv_contrib modules/saliency/src/staticSaliencySpectralResidual.cpp (commit
  65fc3f1ff2aed58611a288887b19dbfc7edf3717) ported to numpy (the authors call StaticSaliencyFineGrained).
- RegMixup: FrancescoPinto/RegMixup, models/regmixup.py and models/regularizers/mixup.py,
  commit fd7846532990da67bf56ae71f78517270252f5f5.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.functional import interpolate

# --- FMix (ecs-vlc/FMix) ---------------------------------------------------------------------


def fftfreqnd(h, w=None, z=None):
    fz = fx = 0
    fy = np.fft.fftfreq(h)
    if w is not None:
        fy = np.expand_dims(fy, -1)
        if w % 2 == 1:
            fx = np.fft.fftfreq(w)[: w // 2 + 2]
        else:
            fx = np.fft.fftfreq(w)[: w // 2 + 1]
    return np.sqrt(fx * fx + fy * fy + fz * fz)


def get_spectrum(freqs, decay_power, ch, h, w=0, z=0, *, param):
    scale = np.ones(1) / (np.maximum(freqs, np.array([1.0 / max(w, h, z)])) ** decay_power)
    param_size = [ch] + list(freqs.shape) + [2]
    assert list(param.shape) == param_size  # the injected np.random.randn(*param_size)
    scale = np.expand_dims(scale, -1)[None, :]
    return scale * param


def make_low_freq_image(decay, shape, ch=1, *, param):
    freqs = fftfreqnd(*shape)
    spectrum = get_spectrum(freqs, decay, ch, *shape, param=param)
    spectrum = spectrum[:, 0] + 1j * spectrum[:, 1]
    mask = np.real(np.fft.irfftn(spectrum, shape, axes=(-2, -1)))  # the reference passes no axes: the same
    mask = mask[:1, : shape[0], : shape[1]]
    mask = mask - mask.min()
    return mask / mask.max()


def binarise_mask(mask, lam, in_shape, *, coin):
    idx = mask.reshape(-1).argsort()[::-1]
    mask = mask.reshape(-1)
    num = math.ceil(lam * mask.size) if coin > 0.5 else math.floor(lam * mask.size)  # coin: random.random()
    mask[idx[:num]] = 1
    mask[idx[num:]] = 0
    return mask.reshape((1, *in_shape))


def fmix_sample_and_apply(x, lam, decay_power, shape, *, param, coin, index):
    """`sample_and_apply` with max_soft = 0, reformulate = False: (mixed, index, lam, mask)."""
    mask = binarise_mask(make_low_freq_image(decay_power, shape, param=param), lam, shape, coin=coin)
    x1, x2 = x * mask, x[index] * (1 - mask)
    return x1 + x2, index, lam, mask


# --- ResizeMix (openmixup) -------------------------------------------------------------------


def resizemix(img, gt_label, *, rand_index, tao, cx, cy, interpolate_mode="nearest"):
    """`resizemix` (lam=None, use_alpha=False, not dist_mode): tao ~ U(scope), cx ~ randint(W), cy ~ randint(H)."""

    def rand_bbox_tao(size, tao):
        W = size[2]
        H = size[3]
        cut_w = int(W * tao)
        cut_h = int(H * tao)
        bbx1 = np.clip(cx - cut_w // 2, 0, W)
        bby1 = np.clip(cy - cut_h // 2, 0, H)
        bbx2 = np.clip(cx + cut_w // 2, 0, W)
        bby2 = np.clip(cy + cut_h // 2, 0, H)
        return bbx1, bby1, bbx2, bby2

    img_resize = img.clone()[rand_index]
    _, _, h, w = img.size()
    shuffled_gt = gt_label[rand_index]
    bbx1, bby1, bbx2, bby2 = rand_bbox_tao(img.size(), tao)
    img_resize = interpolate(img_resize, (int(bby2 - bby1), int(bbx2 - bbx1)), mode=interpolate_mode)
    img = img.clone()
    img[:, :, bby1:bby2, bbx1:bbx2] = img_resize
    lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (w * h))
    return img, (gt_label, shuffled_gt, lam)


# --- GridMix (openmixup) ---------------------------------------------------------------------


def gridmix(img, gt_label, *, lam, rand_index, n_holes, hole_aspect_ratio, cut_area_ratio, cut_aspect_ratio, cx, cy):
    """`gridmix` (not dist_mode) with its draws injected: n_holes, the three ratios, then cx, cy."""

    def rand_grid(lam, size, cut_area_ratio, cut_aspect_ratio, n_holes, hole_aspect_ratio):
        W = size[2]
        H = size[3]
        cut_area = int(H * W * cut_area_ratio)
        cut_w = int(np.sqrt(cut_area / cut_aspect_ratio))
        cut_h = int(cut_w * cut_aspect_ratio)
        xc1 = int((W - cut_w) * cx)
        yc1 = int((H - cut_h) * cy)
        xc2 = xc1 + cut_w
        yc2 = yc1 + cut_h
        width, height = xc2 - xc1, yc2 - yc1
        assert 1 <= n_holes <= width // 2
        patch_width = math.ceil(width / n_holes)
        patch_height = int(patch_width * hole_aspect_ratio)
        ny = math.ceil(height / patch_height)
        ratio = np.sqrt(1 - lam)
        hole_width = int(patch_width * ratio)
        hole_height = int(patch_height * ratio)
        hole_width = min(max(hole_width, 1), patch_width - 1)
        hole_height = min(max(hole_height, 1), patch_height - 1)
        holes = []
        for i in range(n_holes + 1):
            for j in range(ny + 1):
                x1 = min(patch_width * i, width)
                y1 = min(patch_height * j, height)
                x2 = min(x1 + hole_width, width)
                y2 = min(y1 + hole_height, height)
                holes.append((x1, y1, x2, y2))
        mask = torch.zeros((1, 1, W, H))
        for x1, y1, x2, y2 in holes:
            mask[0, 0, yc1 + y1 : yc1 + y2, xc1 + x1 : xc1 + x2] = 1.0
        return mask

    img_ = img[rand_index]
    y_a = gt_label
    y_b = gt_label[rand_index]
    mask = rand_grid(lam, img.size(), cut_area_ratio, cut_aspect_ratio, n_holes, hole_aspect_ratio)
    img = img * (1 - mask) + img_ * mask
    lam = 1 - (mask[0, 0, ...].sum() / (img.shape[-1] * img.shape[-2]))
    return img, (y_a, y_b, lam)


# --- SmoothMix (openmixup) -------------------------------------------------------------------


def smoothmix(img, gt_label, *, rand_index, randint_w, randint_h, rand_sigma):
    """`smoothmix` (not dist_mode): randint_w, randint_h are torch.randint(0, w|h, (1,)), rand_sigma torch.rand(1)."""

    def gaussian_kernel(kernel_size, rand_w, rand_h, sigma):
        s = kernel_size * 2
        x_cord = torch.arange(s)
        x_grid = x_cord.repeat(s).view(s, s)
        y_grid = x_grid.t()
        xy_grid = torch.stack([x_grid, y_grid], dim=-1)
        xy_grid = torch.roll(xy_grid, rand_w, 0)
        xy_grid = torch.roll(xy_grid, rand_h, 1)
        crop_size = s // 4
        xy_grid = xy_grid[crop_size : s - crop_size, crop_size : s - crop_size]
        mean = (s - 1) / 2
        var = sigma**2
        g_filter = torch.exp(-torch.sum((xy_grid - mean) ** 2, dim=-1) / (2 * var))
        return g_filter.view(kernel_size, kernel_size)

    img_ = img[rand_index]
    b, _, h, w = img.size()
    y_a = gt_label
    y_b = gt_label[rand_index]
    rand_w = int(randint_w - w / 2)
    rand_h = int(randint_h - h / 2)
    sigma = (rand_sigma / 4 + 0.25) * h
    kernel = gaussian_kernel(h, rand_h, rand_w, sigma)
    img = img * (1 - kernel) + img_ * kernel
    lam = torch.sum(kernel) / (h * w)
    return img, (y_a, y_b, lam)


# --- SaliencyMix (the authors' code, OpenCV's spectral residual in numpy) ---------------------


def _cv_resize_linear(img, out_h, out_w):
    """cv2.resize(..., INTER_LINEAR) of a float 2-D array: half-pixel centres, edge clamping."""
    in_h, in_w = img.shape

    def axis(n_out, n_in):
        src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        src = np.clip(src, 0, None)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    r0, r1, fr = axis(out_h, in_h)
    c0, c1, fc = axis(out_w, in_w)
    top = img[r0][:, c0] * (1 - fc) + img[r0][:, c1] * fc
    bottom = img[r1][:, c0] * (1 - fc) + img[r1][:, c1] * fc
    return top * (1 - fr[:, None]) + bottom * fr[:, None]


def _cv_filter(img, kernel_1d):
    """A separable filter with cv2's BORDER_DEFAULT (reflect-101)."""
    k = len(kernel_1d) // 2
    padded = np.pad(img, k, mode="reflect")
    rows = sum(kernel_1d[i] * padded[i : i + img.shape[0], :] for i in range(len(kernel_1d)))
    return sum(kernel_1d[i] * rows[:, i : i + img.shape[1]] for i in range(len(kernel_1d)))


def spectral_residual_saliency(hwc):
    """StaticSaliencySpectralResidual::computeSaliencyImpl on a float32 (H, W, 3) image taken as BGR."""
    gray = (0.114 * hwc[..., 0] + 0.587 * hwc[..., 1] + 0.299 * hwc[..., 2]).astype(np.float32)
    small = _cv_resize_linear(gray, 64, 64).astype(np.float64)
    spectrum = np.fft.fft2(small)
    magnitude, angle = np.abs(spectrum), np.angle(spectrum)
    log_amplitude = np.log(magnitude + 1)
    log_blur = _cv_filter(log_amplitude, np.full(3, 1 / 3))
    magnitude = np.exp(log_amplitude - log_blur)
    back = np.fft.ifft2(magnitude * np.cos(angle) + 1j * magnitude * np.sin(angle)) * small.size
    gauss = np.exp(-((np.arange(5) - 2) ** 2) / (2 * 8.0**2))
    magnitude = _cv_filter(np.abs(back), gauss / gauss.sum()) ** 2
    magnitude = (magnitude / magnitude.max()).astype(np.float32)
    return _cv_resize_linear(magnitude, *hwc.shape[:2]).astype(np.float32)


def saliency_bbox(img, lam, saliency_fn=spectral_residual_saliency):
    size = img.size()
    W = size[1]
    H = size[2]
    cut_rat = np.sqrt(1.0 - lam)
    cut_w = int(W * cut_rat)
    cut_h = int(H * cut_rat)
    temp_img = img.cpu().numpy().transpose(1, 2, 0)
    saliencyMap = saliency_fn(temp_img)
    saliencyMap = (saliencyMap * 255).astype("uint8")
    maximum_indices = np.unravel_index(np.argmax(saliencyMap, axis=None), saliencyMap.shape)
    x = maximum_indices[0]
    y = maximum_indices[1]
    bbx1 = np.clip(x - cut_w // 2, 0, W)
    bby1 = np.clip(y - cut_h // 2, 0, H)
    bbx2 = np.clip(x + cut_w // 2, 0, W)
    bby2 = np.clip(y + cut_h // 2, 0, H)
    return bbx1, bby1, bbx2, bby2


def saliencymix(images, labels, *, lam, rand_index, saliency_fn=spectral_residual_saliency):
    """The authors' CIFAR training-loop step (salmix_prob taken): (mixed, labels_a, labels_b, lam)."""
    images = images.clone()
    labels_a = labels
    labels_b = labels[rand_index]
    bbx1, bby1, bbx2, bby2 = saliency_bbox(images[rand_index[0]], lam, saliency_fn)
    images[:, :, bbx1:bbx2, bby1:bby2] = images[rand_index, :, bbx1:bbx2, bby1:bby2]
    lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (images.size()[-1] * images.size()[-2]))
    return images, labels_a, labels_b, lam


# --- RegMixup --------------------------------------------------------------------------------


def regmixup_training_loss(model, x, y, *, lam, index):
    """`RegMixupModel.training_step` with `mixup_data`'s lam and index injected (logits only: no embeddings)."""
    mixed_x = lam * x + (1 - lam) * x[index]
    part_y_a, part_y_b = y, y[index]
    targets_a = torch.cat([y, part_y_a])
    targets_b = torch.cat([y, part_y_b])
    logits = model(torch.cat([x, mixed_x], dim=0))
    return lam * F.cross_entropy(logits, targets_a) + (1 - lam) * F.cross_entropy(logits, targets_b)
