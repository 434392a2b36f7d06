"""Spell out a question's acronyms from the documents' own definitions.

"Who is the CFO?" finds the expenses policy, which says "the Chief Financial Officer (CFO)", but
not the company overview, which names the Chief Financial Officer and never writes "CFO". When a
retrieved passage defines an acronym of the question ("Long Form (LF)", the initials matching),
the question is searched again with the long form added; and a passage that writes an acronym
out, defined or not, names it (app.answering.grounding).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.types import Passage

_ACRONYM = re.compile(r"\b([A-Z][A-Z0-9]{1,5})s?\b")
_JOINERS = {"of", "and", "for", "the", "to", "in", "on", "&"}
_WORD = re.compile(r"[a-z0-9]+")


def acronyms(question: str) -> list[str]:
    """The words of the question written in capitals ("CFO", "SLA"), each once."""
    return list(dict.fromkeys(m.group(1) for m in _ACRONYM.finditer(question)))


def spelled_out(acronym: str, passages: Sequence[Passage]) -> str | None:
    """The long form a passage gives the acronym ("Chief Financial Officer (CFO)")."""
    definition = re.compile(r"((?:[\w-]+[ \t]+){1,8})\(" + re.escape(acronym) + r"\)")
    for passage in passages:
        for match in definition.finditer(passage.text):
            long_form = _matching_tail(match.group(1).split(), acronym)
            if long_form:
                return long_form
    return None


def written_out(acronym: str, texts: Sequence[str]) -> bool:
    """Whether some text writes the acronym out: words in a row whose initials (joiners
    skipped) spell it ("cfo": "... Chief Financial Officer ...")."""
    for text in texts:
        words = [w for w in _WORD.findall(text.lower()) if w not in _JOINERS]
        if acronym.lower() in "".join(w[0] for w in words):
            return True
    return False


def expanded(question: str, passages: Sequence[Passage]) -> str | None:
    """The question with each defined acronym's long form added, or None if none is."""
    additions = []
    for acronym in acronyms(question):
        long_form = spelled_out(acronym, passages)
        if long_form and long_form.lower() not in question.lower():
            additions.append(long_form)
    return f"{question} ({'; '.join(additions)})" if additions else None


def _matching_tail(words: list[str], acronym: str) -> str | None:
    """The last words whose initials (joiners skipped) spell the acronym."""
    for start in range(len(words) - 1, -1, -1):
        tail = words[start:]
        initials = "".join(w[0] for w in tail if w.lower() not in _JOINERS)
        if initials.upper() == acronym.upper():
            return " ".join(tail)
        if len(initials) > len(acronym):
            return None
    return None
