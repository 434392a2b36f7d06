"""Adapting the chat model to the company: LoRA fine-tuning from the knowledge base and from
reviewed answers, exported as a GGUF LoRA adapter that llama.cpp serves beside the model.

`examples` (the training set's JSONL), `knowledge` and `people` (where examples come from),
`training` (peft on the model read from its own GGUF), `gguf_adapter` (llama.cpp's adapter
layout), `comparison` (the answer evaluation with and without an adapter).
"""
