"""Training examples from people: answers rated up (the answer given is the target) and
answers rated down that an admin corrected (the correction is the target). The prompt is
rebuilt from what the model was shown then: the searched question and the same passages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from app.conversations.corrections import ReviewedAnswer
from app.generation.generator import ChatMessage
from app.generation.prompting import NOT_FOUND, Prompts
from app.tuning.examples import TrainingExample, example_id, with_split


def people_examples(
    reviewed: Iterable[ReviewedAnswer], prompts: Prompts, heldout_percent: int = 20
) -> Iterator[TrainingExample]:
    """One example per reviewed answer that had passages (an answer declined before the
    model saw any source has no prompt to learn from)."""
    for item in reviewed:
        passages = item.answer.passages
        if not passages:
            continue
        fix = item.correction
        target = fix.text if fix else item.answer.text
        if not target.strip():
            continue
        query = item.search_query or item.question
        messages = (*prompts.messages(query, passages), ChatMessage("assistant", target))
        cited = {c.passage.source for c in item.answer.citations}
        example = TrainingExample(
            id=example_id("fix" if fix else "up", str(item.message_id)),
            origin="corrected" if fix else "rated_up",
            question=query,
            messages=messages,
            answerable=NOT_FOUND not in target,
            document=next(iter(sorted(cited)), "") if not fix else "",
            note=f"corrected by {fix.username} on {fix.created_at:%Y-%m-%d %H:%M} UTC"
            if fix
            else "",
        )
        yield from with_split([example], f"message:{item.message_id}", heldout_percent)
