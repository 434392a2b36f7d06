"""Where a question becomes an answer.

The flow, in order (``answer.Answerer`` drives it):

- ``followup``      a follow-up ("and for contractors?") becomes a standalone query, when needed
- ``acronyms``      spell out the question's acronyms from the documents' own definitions
- ``retrieve``      one hybrid (dense + keyword) query, the access filter inside it
- ``expand``        neighbouring chunks of a hit, and diversity over documents
- ``rerank``        an optional cross-encoder's second opinion
- ``evidence``      how strongly the passages bear on the question (the early decline)
- ``grounding``     is the question's subject in the passages, and the answer's in what it cites
- ``answer``        budget, prompt, generate (``app.generation``), then cite and check
- ``answer_text``   reading the model's text without changing it (code, URLs, sentences)
- ``citations``     the model's [n] markers become citations of the passages it was shown
- ``support``       each cited sentence checked against its passage, with the supporting span
- ``api_view``      the answer as the public JSON (API, ``docent ask --json``)
"""
