"""How strongly the retrieved passages bear on the question: the refusal signal.

Fused (RRF) scores are ranks, not evidence, so the signal is the best cosine similarity
between the question and a retrieved chunk's stored vector (what the search compared: the chunk
after its title, headings and context lines), which the store returns with each hit. Chunks
that came back without one are embedded here. The default threshold was chosen on the
answer set's dev split (see README "Answer quality").
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
    known = [p.similarity for p in passages if p.similarity is not None]
    missing = [p.text for p in passages if p.similarity is None]
    vectors = embedder.embed(missing) if missing else []
    measured = [sum(a * b for a, b in zip(question_vector, v, strict=True)) for v in vectors]
    return max(known + measured)
