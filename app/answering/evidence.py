"""How strongly the retrieved passages bear on the question: the refusal signal.

Fused (RRF) scores are ranks, not evidence, so the signal is the best cosine similarity
between the question and a retrieved passage, with the same embedder that searched. The
default threshold was chosen on the demo corpus's answerable and unanswerable questions (see
README "Refusals").
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.embed import Embedder
from ingest.types import Passage


def evidence_strength(
    question_vector: Sequence[float], passages: Sequence[Passage], embedder: Embedder
) -> float:
    """Best cosine similarity (vectors are unit length) between the question and a passage."""
    if not passages:
        return 0.0
    vectors = embedder.embed([p.text for p in passages])
    return max(sum(a * b for a, b in zip(question_vector, v, strict=True)) for v in vectors)
