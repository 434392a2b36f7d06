"""A LoRA adapter on a llama-cpp-python `Llama`, set and changed while the model stays loaded.

llama.cpp applies an adapter at run time (its weights beside the model's, never merged), so
one can be loaded, set on the context, replaced by another, or taken off, between completions.
`LoraSlot` holds the one in use: a new one is loaded before the old one is let go (a file
llama.cpp refuses leaves the old one in place), and the last one is freed before the model.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any


class AdapterNotLoaded(RuntimeError):
    """llama.cpp could not load or set the adapter (the message says which file)."""


class LoraSlot:
    """The adapter set on one `Llama`'s context (none at first)."""

    def __init__(self, llama: Any) -> None:
        import llama_cpp

        self._llama = llama
        self._free = llama_cpp.llama_adapter_lora_free  # held: callable while Python exits
        self._handle: Any = None
        self.path: Path | None = None
        self.scale = 1.0
        llama._stack.callback(self._free_current)  # runs before the model is freed

    def set(self, path: Path | None, scale: float = 1.0) -> None:
        """Use the adapter at `path` (None: the model alone) from the next evaluation on."""
        import llama_cpp

        handle = None
        if path is not None:
            handle = llama_cpp.llama_adapter_lora_init(
                self._llama._model.model, str(path).encode("utf-8")
            )
            if not handle:
                raise AdapterNotLoaded(f"llama.cpp could not load the LoRA adapter {path}")
        try:
            self._apply(handle, scale)
        except AdapterNotLoaded:
            if handle:
                llama_cpp.llama_adapter_lora_free(handle)
            raise
        old, self._handle, self.path, self.scale = self._handle, handle, path, scale
        if old:
            llama_cpp.llama_adapter_lora_free(old)

    def reapply(self) -> None:
        """Set the adapter in use again (on a context made anew, e.g. with two sequences)."""
        self._apply(self._handle, self.scale)

    def _apply(self, handle: Any, scale: float) -> None:
        import llama_cpp

        context = self._llama._ctx.ctx
        if not handle:
            refused = llama_cpp.llama_set_adapters_lora(context, None, 0, None)
        else:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(handle)
            scales = (ctypes.c_float * 1)(scale)
            refused = llama_cpp.llama_set_adapters_lora(context, adapters, 1, scales)
        if refused:
            raise AdapterNotLoaded(f"llama.cpp refused to set the LoRA adapter {self.path}")

    def _free_current(self) -> None:
        if self._handle:
            self._free(self._handle)
            self._handle = None


def forget_context(llama: Any) -> None:
    """Empty the context's cells: computed with the adapter before, they are not the model's
    now, and llama-cpp-python must not reuse them as a cached prefix."""
    import llama_cpp

    llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(llama._ctx.ctx), True)
    llama.n_tokens = 0
