"""Names the knowledge base has never heard of.

A question about another product ("aria2c", "HandBrake", "tmux") or another release ("FFmpeg
7.0") names something that no document uses anywhere. Its other words are ordinary ones the
passages share ("download", "video", "window"), so the share of the subject the passages name
says little; the unknown name says it plainly. An answerable question can use words the
documents never do too, but those are ordinary English ("scratch", "photo", "colour", and
"misbehave": an everyday word behind an everyday prefix): a word counts as a name only when it
is also rare in general English (wordfreq's Zipf scale: about 3 per billion words and below is
jargon and names, 4 and above is everyday vocabulary) or holds a digit (a version, a year).

Whether the knowledge base uses a word is asked of its keyword index: one keyword query per
candidate, inside the asker's access, so a word that only documents they may not read contain
is unknown to them as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache

from ingest.access import Access
from ingest.sparse import term_id
from ingest.store import VectorStore
from ingest.types import SparseVector

# endings tried off an inflected word, so "colouring" is judged as "colour"
_ENDINGS = ("ing", "es", "ed", "s")
# prefixes that make an everyday word of an everyday word ("misbehave", "unplugged")
_PREFIXES = ("mis", "un", "re", "dis", "non", "pre")
_DIGIT = re.compile(r"\d")
DEFAULT_RARE_BELOW = 3.5  # Zipf: about 3 uses per billion words (DOCENT_RARE_NAME_BELOW)


def looks_like_a_name(word: str, rare_below: float) -> bool:
    """A word with a digit, or one rarer in English than `rare_below` (Zipf) in every form."""
    if _DIGIT.search(word):
        return True
    return max(_zipf(form) for form in _forms(word)) < rare_below


def unknown_names(
    missing: Mapping[str, str],
    store: VectorStore,
    access: Access,
    question_vector: list[float],
    rare_below: float,
) -> tuple[str, ...]:
    """The words of `missing` (stemmed term -> the question's word, terms the passages do not
    name) that look like names and that no document the asker may read contains."""
    if rare_below <= 0:
        return ()
    names = [(t, w) for t, w in missing.items() if looks_like_a_name(w, rare_below)]
    return tuple(w for t, w in names if not _used(store, t, access, question_vector))


def _used(store: VectorStore, term: str, access: Access, vector: list[float]) -> bool:
    query = SparseVector(indices=[term_id(term)], values=[1.0])
    return bool(store.search(vector, query, 1, mode="sparse", access=access))


def _forms(word: str) -> Sequence[str]:
    """The word, without an ending, and (a plain word) without a prefix: "misbehaving" is
    judged as "behaving" too."""
    bases = [word]
    if word.isalpha():
        bases += [
            word[len(p) :] for p in _PREFIXES if word.startswith(p) and len(word) > len(p) + 3
        ]
    stems = [
        b[: -len(e)] for b in bases for e in _ENDINGS if b.endswith(e) and len(b) - len(e) >= 3
    ]
    return [*bases, *stems]


@cache
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))
