"""What the hardware and the model allow: model FLOPs per image, the device's matmul roof, the device itself."""

from __future__ import annotations

import time

import torch

from mixup_bench.bench.naive import physical_cores
from mixup_bench.train.device import bf16_native, cpu_isa, cpu_model, sync
from mixup_bench.train.models import build_model

ROOF_N = 2048  # matmul size of the roof measurement


def model_flops(model_name: str, num_classes: int = 10) -> dict:
    """FLOPs per 32x32 image, counted on the meta device (no compute): forward, and forward+backward.

    Counts convolutions and matmuls (2 FLOPs a multiply-add), as torch.utils.flop_counter does.
    Training is about 3x the forward (the first conv needs no input gradient, hence a bit less).
    """
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(model_name, num_classes).to("meta")
    x = torch.empty(1, 3, 32, 32, device="meta")
    with FlopCounterMode(display=False) as fwd:
        model(x)
    with FlopCounterMode(display=False) as both:
        model(x).sum().backward()
    return {"forward_per_image": fwd.get_total_flops(), "train_per_image": both.get_total_flops()}


def matmul_gflops(device: torch.device, dtype: torch.dtype, n: int = ROOF_N, reps: int = 5) -> float:
    """Best of `reps` timings of an n x n matmul, in GFLOP/s: the practical compute roof of the device."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    for _ in range(2):
        a @ b
    sync(device)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def device_roof(device: torch.device) -> dict:
    """The fp32 and (where native) bf16 matmul roofs of `device`, in GFLOP/s."""
    return {
        "matmul_n": ROOF_N,
        "fp32_gflops": matmul_gflops(device, torch.float32),
        "bf16_gflops": matmul_gflops(device, torch.bfloat16) if bf16_native(device) else None,
    }


def describe_device(device: torch.device, threads: int) -> dict:
    """Type, name, intra-op threads and physical cores of `device`."""
    d = {"type": device.type, "threads": threads, "physical_cores": physical_cores()}
    if device.type == "cuda":
        d["name"] = torch.cuda.get_device_name(device)
    else:
        d["name"] = cpu_model()
        d["isa"] = cpu_isa()
    return d
