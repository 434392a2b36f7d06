"""An answer that opens with "Yes" where the passage it cites says no is asked for again.

The packaged 1.5B model answers a yes-or-no question "Yes" where its own passage says the
opposite: "Yes, you can use one libcurl handle from several threads at the same time" citing
"you must never share the same handle in multiple threads"; "Yes, curl follows HTTP redirects
on its own" citing "curl does not follow so-called redirects by default"; "Yes, fetchmail can
delete messages ... after keeping them" citing "not yet implemented". The support check reads
these as denied (`app.answering.support.contradicted`). docent never changes the model's words,
so it asks the model once more with "Yes" ruled out as the first token (the same prompt, read
from the model's cache); that answer replaces the first and is checked like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.answering.support import Claim, contradicted
from ingest.types import Passage

YES = "Yes"
REASKED = "its first answer said yes where the source it cited says no"  # told to the reader
_DECORATION = " \t\n*_>"  # Markdown a reply may open with ("**Yes**", "> Yes")


def denied_yes(text: str, claims: Sequence[Claim], passages: Sequence[Passage]) -> bool:
    """Whether the model's `text` opens with "Yes" in a sentence (its first checked claim) that
    a passage it cites denies."""
    if not claims or not text.lstrip(_DECORATION).startswith(YES):
        return False
    first = claims[0]
    cited = [passages[n - 1] for n in first.numbers if 1 <= n <= len(passages)]
    return any(contradicted(first.sentence, passage.text) for passage in cited)
