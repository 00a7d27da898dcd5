"""Which device and precision a run uses, and the CPU allocator setting that keeps steps fast."""

from __future__ import annotations

import ctypes
import platform
import sys
from pathlib import Path

import torch

from mixup_bench.errors import UserError


def resolve_device(name: str) -> torch.device:
    """'auto' picks cuda, then mps, then cpu. Asking for a missing device is a UserError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but torch sees no CUDA GPU; use --device cpu or auto.")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps was asked for, but this torch has no MPS support; use --device cpu or auto.")
    return torch.device(name)


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 matmul (AVX512-BF16 or AMX); else bf16 is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return ("avx512_bf16" in flags or "amx_bf16" in flags) and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def cpu_model() -> str:
    """The CPU's model name ('AMD EPYC', 'Intel(R) Xeon(R) ...'): /proc/cpuinfo on Linux, else `platform`."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_isa() -> str:
    """The CPU's machine class as torch runs on it: 'AMX', 'AVX512-BF16', 'AVX512', 'AVX2' or torch's own name.

    torch's dispatch level (which `ATEN_CPU_CAPABILITY=avx2` lowers) caps what the flags in
    /proc/cpuinfo offer, so an emulated AVX2 machine reports AVX2. The class decides which
    timings a figure can be compared with: an AVX2-only CPU runs fp32 several times slower.
    """
    capability = torch.backends.cpu.get_cpu_capability()  # 'AVX2', 'AVX512', 'DEFAULT', ...
    if capability != "AVX512":
        return capability
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    if "amx_bf16" in flags:
        return "AMX"
    return "AVX512-BF16" if "avx512_bf16" in flags else "AVX512"


def bf16_native(device: torch.device) -> bool:
    """True where bf16 is native on `device` (a CUDA GPU that supports it, or a CPU with bf16 matmul)."""
    return (device.type == "cuda" and torch.cuda.is_bf16_supported()) or (device.type == "cpu" and cpu_supports_bf16())


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for fp32. 'auto' uses bf16 where the hardware has it."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        if device.type == "mps":
            raise UserError("--precision bf16 is not supported on mps; use --precision fp32 or auto.")
        return torch.bfloat16
    return torch.bfloat16 if bf16_native(device) else None


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc mallopt parameters


_allocator_tuned = False


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks for reuse instead of handing them back to the OS.

    A CPU training step allocates and frees the same tens of MB of activations every step. By
    default glibc serves such blocks with fresh mmaps (or trims the heap after a free), so each
    step page-faults and zero-fills them again: 3,500-6,600 faults and 7-14 ms of system time per
    small-cnn step, 3-7% of it, on the 2-core reference CPU (docs/performance.md). Process-wide,
    once; returns whether it applied (False off glibc). The cost: the process keeps its peak heap
    until it exits.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        # Newer glibc caps the mmap threshold at 32 MB; take the largest value it accepts.
        mmap_ok = any(libc.mallopt(_M_MMAP_THRESHOLD, v) == 1 for v in (1 << 30, 32 << 20))
        _allocator_tuned = bool(
            mmap_ok and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1 and libc.mallopt(_M_TOP_PAD, 64 << 20) == 1
        )
    except (OSError, AttributeError):  # musl, or no libc.so.6
        return False
    return _allocator_tuned


def sync(device: torch.device) -> None:
    """Wait for the device's queued work, so that a host clock measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
