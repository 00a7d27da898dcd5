"""The state of a run and its checkpoint round trip: model, optimizer, scheduler, RNG states, history."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from mixup_bench.config import RunConfig, training_changes
from mixup_bench.errors import UserError
from mixup_bench.results.layout import CHECKPOINT_FILE

CHECKPOINT_VERSION = 1


@dataclass
class RunState:
    """Everything that changes during a run, with the checkpoint round trip."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    data_gen: torch.Generator  # batch order and augmentation
    mixup_gen: torch.Generator  # lam and pairing
    epoch: int = 0  # epochs finished
    history: list[dict] | None = None  # metrics rows so far
    lam_log: list[dict] | None = None  # every lam drawn so far
    shift_log: list[dict] = field(default_factory=list)  # corruptions.csv rows of every shift evaluation so far

    def to_bytes(self, cfg: RunConfig) -> bytes:
        state = {
            "version": CHECKPOINT_VERSION,
            "config": cfg.to_dict(),
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "data": self.data_gen.get_state(),
                "mixup": self.mixup_gen.get_state(),
            },
            "history": self.history,
            "lam_log": self.lam_log,
            "shift_log": self.shift_log,
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        return buf.getvalue()

    def restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.data_gen.set_state(state["rng"]["data"])
        self.mixup_gen.set_state(state["rng"]["mixup"])
        self.epoch = state["epoch"]
        self.history = list(state["history"])
        self.lam_log = list(state["lam_log"])
        self.shift_log = list(state.get("shift_log") or [])  # checkpoints from before the shift evaluation: none


def load_checkpoint(run_dir: Path, cfg: RunConfig) -> dict | None:
    """The run's checkpoint if there is a usable one for this config, else None."""
    path = run_dir / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None  # unreadable: the run starts over, which loses nothing that was counted
    if state.get("version") != CHECKPOINT_VERSION:
        return None
    changes = training_changes(state["config"]["training"], cfg.training)
    if changes:
        raise UserError(
            f"{run_dir} was started with other settings ({'; '.join(changes)}); use a new --name or delete that folder."
        )
    return state
