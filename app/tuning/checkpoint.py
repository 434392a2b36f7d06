"""A training run's checkpoint: the LoRA weights, the optimizer and schedule, and where the run
stood. Written to a new file and renamed into place, so a kill leaves the last whole one."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHECKPOINT = "checkpoint.pt"


@dataclass
class Position:
    """Where a run stands: optimizer steps done, and the next example of which epoch."""

    step: int = 0
    epoch: int = 0
    index: int = 0  # examples of this epoch already trained on
    examples_seen: int = 0
    seconds: float = 0.0  # training time spent so far, over every resumed part
    losses: list[float] = field(default_factory=list)  # mean loss of each optimizer step


def save_checkpoint(
    folder: Path, model: Any, optimizer: Any, schedule: Any, position: Position, fingerprint: str
) -> Path:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / CHECKPOINT
    partial = folder / (CHECKPOINT + ".partial")
    weights = {
        name: value.detach().cpu()
        for name, value in model.named_parameters()
        if value.requires_grad
    }
    state = {
        "weights": weights,
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "position": asdict(position),
        "fingerprint": fingerprint,
        "rng": torch.get_rng_state(),  # dropout goes on as it would have
    }
    torch.save(state, partial)
    os.replace(partial, target)
    return target


def load_checkpoint(folder: Path, fingerprint: str) -> dict[str, Any] | None:
    """The checkpoint in `folder`, or None; one of another run (other data or settings) is
    refused: resuming it would mix two runs."""
    import torch

    path = folder / CHECKPOINT
    if not path.is_file():
        return None
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != fingerprint:
        raise ValueError(
            f"{path} belongs to a run with other data or settings: pass --fresh to start over, "
            "or the same options to resume it"
        )
    return state


def restore(state: dict[str, Any], model: Any, optimizer: Any, schedule: Any) -> Position:
    import torch

    torch.set_rng_state(state["rng"])
    params = dict(model.named_parameters())
    for name, value in state["weights"].items():
        params[name].data.copy_(value.to(params[name].device))
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    return Position(**state["position"])
