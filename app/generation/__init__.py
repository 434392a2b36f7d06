"""The model's side: prompts in, streamed text out.

- ``generator``        the ``Generator`` protocol, the fair queue, and the llama.cpp adapter
- ``http_server``      a ``Generator`` over an OpenAI-compatible server (llama-server)
- ``llama_state``      put a llama.cpp context's cached prompt aside and back again
- ``thinking``         keep a reasoning model's <think> out of the answer, even mid-stream
- ``prompting``        render ``prompts/*.j2`` into chat messages
- ``prompt_versions``  admin edits of the prompt templates: checked saves, preview, history
"""
