"""`docent tune train`: LoRA on the chat model, from its GGUF, resumable, within a budget.

One example per forward pass (no padding), gradients accumulated over `accumulate` examples
per optimizer step, AdamW with a linear decay after a short warm-up. The examples are shuffled
per epoch with the seed, so a resumed run trains on exactly what the killed one would have.
A checkpoint is written every `checkpoint_every` steps and when the budget (steps or minutes)
runs out; the adapter is exported to GGUF when every epoch is done.
"""

from __future__ import annotations

import hashlib
import json
import random
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.tuning.checkpoint import Position, load_checkpoint, restore, save_checkpoint
from app.tuning.encoding import Encoded, encode_all
from app.tuning.examples import TrainingExample
from app.tuning.gguf_adapter import BaseModel, write_adapter
from app.tuning.model import LoraConfig, TrainableModel, load_base, with_lora

ADAPTER_FILE = "adapter.gguf"
REPORT_FILE = "training.json"


@dataclass(frozen=True)
class TrainOptions:
    lora: LoraConfig = field(default_factory=LoraConfig)
    learning_rate: float = 2e-4
    epochs: int = 2
    accumulate: int = 4  # examples per optimizer step
    max_tokens: int = 2048  # longer examples are left out (their sources would be cut)
    warmup_steps: int = 2
    checkpoint_every: int = 5  # optimizer steps
    max_steps: int | None = None  # budget: stop (resumable) after this many steps in total
    max_minutes: float | None = None  # budget: stop (resumable) after this long in this part
    checkpointing: bool = True  # recompute activations in the backward pass: far less memory
    seed: int = 0
    device: str = "cpu"


@dataclass(frozen=True)
class Progress:
    examples_done: int
    examples_total: int
    step: int
    steps_total: int
    loss: float | None  # mean loss of the last optimizer step
    seconds: float  # training time so far (every part of a resumed run)

    @property
    def eta_seconds(self) -> float | None:
        if self.examples_done == 0:
            return None
        per_example = self.seconds / self.examples_done
        return per_example * (self.examples_total - self.examples_done)


@dataclass(frozen=True)
class TrainReport:
    finished: bool  # every epoch done and the adapter exported
    stopped_by: str  # "" when finished, else "steps" or "minutes"
    adapter: Path | None
    examples: int  # in the training split, that fit
    too_long: list[str]
    steps: int
    steps_total: int
    examples_seen: int
    seconds: float
    seconds_per_example: float | None
    peak_memory_mb: float  # this process's peak resident memory
    peak_gpu_memory_mb: float | None
    first_loss: float | None
    last_loss: float | None
    resumed_from_step: int
    device: str


def train(
    examples: Sequence[TrainingExample],
    base_gguf: Path,
    out: Path,
    options: TrainOptions,
    progress: Callable[[Progress], None] | None = None,
    fresh: bool = False,
    loader: Callable[[Path, str], tuple[Any, Any]] = load_base,
) -> TrainReport:
    """Train (or resume training) an adapter on the `train` split into folder `out`;
    `loader` reads (model, tokenizer) from the GGUF (tests give a tiny model)."""
    training = [e for e in examples if e.split == "train"]
    if not training:
        raise ValueError("the training set has no examples in its train split")
    base, tokenizer = loader(base_gguf, options.device)
    encoded, too_long = encode_all(training, tokenizer, options.max_tokens)
    if not encoded:
        raise ValueError(f"every example is longer than --max-tokens {options.max_tokens}")
    trainable = with_lora(base, tokenizer, options.device, options.lora)
    if options.checkpointing:
        trainable.model.gradient_checkpointing_enable(
            gradient_checkpointing_kwargs={"use_reentrant": False}
        )
    run = _Run(trainable, encoded, options, _fingerprint(encoded, base_gguf, options))
    if fresh:
        (out / "checkpoint.pt").unlink(missing_ok=True)
    resumed = run.resume(out)
    stopped_by = run.loop(out, progress)
    adapter = None
    if not stopped_by:
        pairs, alpha = trainable.lora_pairs()
        adapter = write_adapter(out / ADAPTER_FILE, pairs, BaseModel.read(base_gguf), alpha=alpha)
    report = run.report(stopped_by, adapter, too_long, resumed)
    (out / REPORT_FILE).write_text(json.dumps(_jsonable(report), indent=2) + "\n")
    return report


class _Run:
    def __init__(
        self, trainable: TrainableModel, encoded: list[Encoded], options: TrainOptions, key: str
    ) -> None:
        import torch
        from transformers import get_linear_schedule_with_warmup

        self.trainable, self.encoded, self.options, self.key = trainable, encoded, options, key
        self.model = trainable.model
        torch.manual_seed(options.seed)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=options.learning_rate, weight_decay=0.0)
        per_epoch = -(-len(encoded) // options.accumulate)
        self.steps_total = per_epoch * options.epochs
        warmup = min(options.warmup_steps, self.steps_total)
        self.schedule = get_linear_schedule_with_warmup(self.optimizer, warmup, self.steps_total)
        self.position = Position()

    def resume(self, out: Path) -> int:
        state = load_checkpoint(out, self.key)
        if state is not None:
            self.position = restore(state, self.model, self.optimizer, self.schedule)
        return self.position.step

    def loop(self, out: Path, progress: Callable[[Progress], None] | None) -> str:
        """Train until done or out of budget; "" when done, else what stopped it."""
        started, at = time.monotonic(), self.position
        self.model.train()
        while at.epoch < self.options.epochs:
            order = self._order(at.epoch)
            while at.index < len(order):
                batch = order[at.index : at.index + self.options.accumulate]
                began = time.monotonic()
                at.losses.append(self._step(batch))
                at.step, at.index = at.step + 1, at.index + len(batch)
                at.examples_seen += len(batch)
                at.seconds += time.monotonic() - began
                if progress:
                    progress(self._progress())
                stopped_by = self._out_of_budget(started)
                if stopped_by or at.step % self.options.checkpoint_every == 0:
                    save_checkpoint(out, self.model, self.optimizer, self.schedule, at, self.key)
                if stopped_by:
                    return stopped_by
            at.epoch, at.index = at.epoch + 1, 0
        save_checkpoint(out, self.model, self.optimizer, self.schedule, at, self.key)
        return ""

    def _order(self, epoch: int) -> list[Encoded]:
        order = list(self.encoded)
        random.Random(f"{self.options.seed}:{epoch}").shuffle(order)
        return order

    def _step(self, batch: Sequence[Encoded]) -> float:
        import torch

        total = sum(e.target_tokens for e in batch) or 1
        loss_sum = 0.0
        for example in batch:
            ids = torch.tensor([example.input_ids], device=self.trainable.device)
            # the reply ends the sequence: only its positions need the vocabulary's logits
            # (on a 1,500-token prompt they are most of the memory a step takes)
            keep = example.target_tokens + 1
            labels = torch.tensor([example.labels[-keep + 1 :]], device=self.trainable.device)
            logits = self.model(input_ids=ids, logits_to_keep=keep).logits[:, :-1].float()
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                labels.reshape(-1),
                ignore_index=-100,
                reduction="sum",
            )
            (loss / total).backward()  # the mean over the batch's target tokens
            loss_sum += float(loss.detach())
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_sum / total

    def _out_of_budget(self, started: float) -> str:
        steps, minutes = self.options.max_steps, self.options.max_minutes
        if steps is not None and self.position.step >= steps:
            return "steps"
        if minutes is not None and time.monotonic() - started >= minutes * 60:
            return "minutes"
        return ""

    def _progress(self) -> Progress:
        at = self.position
        return Progress(
            examples_done=at.examples_seen,
            examples_total=len(self.encoded) * self.options.epochs,
            step=at.step,
            steps_total=self.steps_total,
            loss=at.losses[-1] if at.losses else None,
            seconds=at.seconds,
        )

    def report(
        self, stopped_by: str, adapter: Path | None, too_long: list[str], resumed: int
    ) -> TrainReport:
        at = self.position
        return TrainReport(
            finished=not stopped_by,
            stopped_by=stopped_by,
            adapter=adapter,
            examples=len(self.encoded),
            too_long=too_long,
            steps=at.step,
            steps_total=self.steps_total,
            examples_seen=at.examples_seen,
            seconds=round(at.seconds, 2),
            seconds_per_example=round(at.seconds / at.examples_seen, 3)
            if at.examples_seen
            else None,
            peak_memory_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            peak_gpu_memory_mb=_gpu_peak_mb(self.trainable.device),
            first_loss=at.losses[0] if at.losses else None,
            last_loss=at.losses[-1] if at.losses else None,
            resumed_from_step=resumed,
            device=self.trainable.device,
        )


def _fingerprint(encoded: Sequence[Encoded], base: Path, options: TrainOptions) -> str:
    """What a checkpoint must share with the run resuming it: the data, model and settings
    (the budget and device may change between parts)."""
    digest = hashlib.sha256()
    for example in encoded:
        digest.update(json.dumps([example.input_ids, example.labels]).encode())
    fixed = asdict(options) | {"max_steps": None, "max_minutes": None, "device": None}
    fixed |= {"checkpointing": None}
    digest.update(json.dumps(fixed, sort_keys=True, default=str).encode())
    digest.update(f"{base.name}:{base.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def _gpu_peak_mb(device: str) -> float | None:
    if device != "cuda":
        return None
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**20, 1)


def _jsonable(report: TrainReport) -> dict[str, Any]:
    data = asdict(report)
    data["adapter"] = str(report.adapter) if report.adapter else None
    return data
