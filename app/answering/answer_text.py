"""Read the model's answer text without changing it: where its code, URLs and identifiers are,
which bracketed numbers are citation markers, and where its sentences end.

docent may add or remove citation markers and nothing else, and only where a marker belongs:
after a word or a sentence, never inside inline code, code blocks, URLs, paths, e-mail addresses,
dotted names, numbers or bracketed data (`tuple([1, 2, 3])`, `sys.argv[1]`). Everything here
reports offsets into the text; `app.answering.citations` makes the edits.

Sentences come from pysbd (a rule-based segmenter that knows abbreviations, decimals and
initials), run on a copy of the text in which protected stretches are masked, so a period inside
`random.random()` or `~/.ssh` can never end a sentence. Lines (list items, paragraphs) are
sentences of their own; a fenced code block is one segment that is never cited into.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pysbd

_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>`\"\[\]]*[^\s<>`\"'.,;:!?)\[\]]", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TOKEN = re.compile(r"\S+")
_LEADING = "(\"'*_[{<“‘"
_TRAILING = ".,;:!?\"'*_”’"
_TRAILING_MARKERS = re.compile(r"(?:\[\d{1,3}(?:,\d{1,3})*\])+$")
# inner punctuation that makes a token code: dotted names and paths (`random.random()`, `~/.ssh`,
# `/etc/x.conf`, `.bashrc`), calls and subscripts (`f(x)`, `sys.argv[1]`), `a_b`, `a::b`,
# options (`--force`), assignments, variables, versions and decimals (`3.5`, `1,000`), glob
# patterns (`foo-*.jpeg`, `img?.bmp`, `img.*`)
_CODE_SHAPE = re.compile(
    r"\w\.\w|^\.\w|[/\\]|::|\w\(|\w\[|\w_|_\w|=|^~|\$\w|^--?\w|<\w|\w>|\d[.,]\d|@\w|[a-z],[a-z]"
    r"|[*?]\.\w|\w\.[*?]"
)
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_LEADING_MARKERS = re.compile(r"(?:[ \t]*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])+[.!?]*")
_CANDIDATE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_WORD_BEFORE = re.compile(r"[\w%°'’:\-]+$")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9%°'’:\-]+")
_AFTER_OK = re.compile(r"(?:$|\s|[.,;:!?)\"'*_”’]+(?:$|\s|\[)|\[\d)")
_ABBREVIATIONS = {"etc", "vs", "approx", "inc", "ltd", "dr", "mr", "mrs", "ms", "no", "co"}


@dataclass(frozen=True)
class Marker:
    """A citation marker `[n]` or `[n, m]` at text[start:end]; `lead` spaces precede it."""

    start: int
    end: int
    numbers: tuple[int, ...]
    lead: int = 0  # horizontal whitespace before the bracket, removed with the marker


@dataclass(frozen=True)
class Segment:
    """A sentence, list item or line (text[start:end]); `code`: a fenced block, never cited."""

    start: int
    end: int
    code: bool = False


def protected(text: str) -> list[tuple[int, int]]:
    """Sorted, non-overlapping stretches where no marker may go and no sentence may end."""
    spans: list[tuple[int, int]] = []
    taken = bytearray(len(text))
    for pattern in (_FENCE, _INLINE_CODE, _URL, _EMAIL):
        for match in pattern.finditer(text):
            _take(spans, taken, *match.span())
    for match in _TOKEN.finditer(text):
        start, end = _code_core(text, *match.span())
        if end > start:
            _take(spans, taken, start, end)
    return sorted(spans)


def inline_code(text: str) -> list[str]:
    """What the text's inline code spans hold, without their backticks."""
    return [m.group(0).strip("`").strip() for m in _INLINE_CODE.finditer(text)]


def _take(spans: list[tuple[int, int]], taken: bytearray, start: int, end: int) -> None:
    if end > start and not any(taken[start:end]):
        spans.append((start, end))
        taken[start:end] = b"\1" * (end - start)


def _code_core(text: str, start: int, end: int) -> tuple[int, int]:
    """The code-shaped core of the token text[start:end] without its surrounding punctuation
    and trailing citation markers; (start, start) when the token is plain prose."""
    while start < end and text[start] in _LEADING:
        start += 1
    while end > start:
        if text[end - 1] in _TRAILING or _unopened(text, start, end):
            end -= 1
        elif (found := _TRAILING_MARKERS.search(text, start, end)) and not _CODE_SHAPE.search(
            text[start : found.start()]
        ):
            end = found.start()
        else:
            break
    core = text[start:end]
    if _INITIALS.fullmatch(core):
        return start, start  # "e.g", "i.e", "a.m": prose, for the segmenter to know
    return (start, end) if _CODE_SHAPE.search(core) else (start, start)


def markers(text: str) -> list[Marker]:
    """The citation markers of `text`: bracketed numbers after a word or sentence, outside
    protected stretches, followed by a space, punctuation, another marker or the end."""
    guard = _guard(text)
    found: list[Marker] = []
    for match in _CANDIDATE.finditer(text):
        start, end = match.span()
        if guard[start] or not _AFTER_OK.match(text, end):
            continue
        numbers = tuple(int(part) for part in match.group(1).split(","))
        if 0 in numbers or not _cites_here(text, start, found):
            continue
        lead = _lead(text, start)
        found.append(Marker(start, end, numbers, lead))
    return found


def markers_in(found: Sequence[Marker], segment: Segment) -> list[Marker]:
    """The markers of `found` that stand in `segment`."""
    return [m for m in found if segment.start <= m.start < segment.end]


def edited(text: str, edits: Mapping[Marker, str], start: int = 0, end: int | None = None) -> str:
    """text[start:end] with each marker of `edits` (and its lead space) replaced by its edit
    ("" takes it out); nothing else changes."""
    end = len(text) if end is None else end
    pieces, position = [], start
    for marker in sorted(edits, key=lambda m: m.start):
        cut = max(start, marker.start - marker.lead)
        pieces += [text[position:cut], edits[marker]]
        position = marker.end
    return "".join(pieces) + text[position:end]


def _lead(text: str, start: int) -> int:
    """1 when the space before a marker is the marker's own, 0 when there is none or it is a
    list bullet's ("- [2] …")."""
    if start == 0 or text[start - 1] not in " \t":
        return 0
    if start >= 2 and text[start - 2] in "-*+>":
        line_start = text.rfind("\n", 0, start - 2) + 1
        if not text[line_start : start - 2].strip():  # the bullet opens its line
            return 0
    return 1  # after a word, or a sign inside one (`img.* [4]`)


def _cites_here(text: str, start: int, earlier: list[Marker]) -> bool:
    """A marker follows a plain word, punctuation, a protected stretch ended by a space, or
    another marker; never an opening bracket or an identifier it would index."""
    if start == 0 or (earlier and earlier[-1].end == start):
        return True
    before = text[start - 1]
    if before.isspace():
        previous = text[:start].rstrip()[-1:]
        return previous not in ("=", "(", "[", "{", ",")
    if before in ".,;:!?\"'*_”’`":
        return True
    if before == ")":
        return True  # a parenthesis of prose: code like `f(x)[1]` is protected already
    word = _WORD_BEFORE.search(text, 0, start)
    return word is not None and bool(_PLAIN_WORD.fullmatch(_token_before(text, start)))


def _token_before(text: str, start: int) -> str:
    begin = start
    while begin > 0 and not text[begin - 1].isspace():
        begin -= 1
    return text[begin:start]


def _unopened(text: str, start: int, end: int) -> bool:
    """text[start:end] ends in a ")" that closes nothing inside it."""
    return text[end - 1] == ")" and text.count("(", start, end) < text.count(")", start, end)


def segments(text: str) -> list[Segment]:
    """Sentences, list items and lines of `text`, and its fenced code blocks, in order."""
    masked = _masked(text)
    found: list[Segment] = []
    position = 0
    for match in _FENCE.finditer(text):
        found.extend(_prose_segments(text, masked, position, match.start()))
        found.append(Segment(match.start(), match.end(), code=True))
        position = match.end()
    found.extend(_prose_segments(text, masked, position, len(text)))
    return found


def _prose_segments(text: str, masked: str, start: int, end: int) -> list[Segment]:
    found = []
    line_start = start
    for line in text[start:end].splitlines(keepends=True):
        line_end = line_start + len(line)
        if line.strip():
            found.extend(_sentences(masked, line_start, line_end))
        line_start = line_end
    return found


def _sentences(masked: str, start: int, end: int) -> list[Segment]:
    """pysbd's sentences of masked[start:end], as offsets (found in order, so exact)."""
    found = []
    position = start
    for sentence in _segmenter().segment(masked[start:end]):
        piece = str(sentence).strip()
        if not piece:
            continue
        at = masked.find(piece, position, end)
        if at < 0:  # the segmenter normalised something: keep the rest as one sentence
            break
        found.append(Segment(at, at + len(piece)))
        position = at + len(piece)
    rest = masked[position:end]
    if rest.strip():
        if found and _only_markers(rest):
            last = found.pop()
            found.append(Segment(last.start, end - (len(rest) - len(rest.rstrip()))))
        else:
            offset = len(rest) - len(rest.lstrip())
            found.append(Segment(position + offset, end - (len(rest) - len(rest.rstrip()))))
    return _markers_joined(masked, _false_stops_joined(masked, found))


def _false_stops_joined(text: str, found: list[Segment]) -> list[Segment]:
    """A "sentence" followed at once by a comma or semicolon did not end ("the trailing ?,
    ignore …" names a character): it is joined to the next."""
    joined: list[Segment] = []
    for segment in found:
        if joined and text[joined[-1].end : joined[-1].end + 1] in (",", ";"):
            joined[-1] = Segment(joined[-1].start, segment.end)
        else:
            joined.append(segment)
    return joined


def _markers_joined(text: str, found: list[Segment]) -> list[Segment]:
    """Markers that open a sentence ("… 45 EUR. [2] Next …") belong to the one before it."""
    joined: list[Segment] = []
    for segment in found:
        lead = _LEADING_MARKERS.match(text, segment.start, segment.end)
        if joined and lead and lead.end() > segment.start:
            joined[-1] = Segment(joined[-1].start, lead.end())
            rest = text[lead.end() : segment.end]
            start = lead.end() + len(rest) - len(rest.lstrip())
            if start >= segment.end:
                continue
            segment = Segment(start, segment.end)
        joined.append(segment)
    return joined


def _only_markers(piece: str) -> bool:
    return bool(re.fullmatch(r"(?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])+[\s.!?]*", piece))


def _masked(text: str) -> str:
    """The text with each protected stretch (except code blocks, split apart already) turned
    into letters of the same length, so the segmenter cannot cut inside one."""
    chars = list(text)
    for start, end in protected(text):
        if "\n" in text[start:end] and text[start:end].lstrip().startswith(("```", "~~~")):
            continue
        for i in range(start, end):
            if not chars[i].isspace():
                chars[i] = "x"
    return "".join(chars)


@lru_cache(maxsize=8)
def _guard(text: str) -> bytes:
    """1 for each character in a protected stretch (one more for the end); kept for the last
    few texts, since a marker check, each sentence's citation point and each streamed token
    ask again about the same answer."""
    guard = bytearray(len(text) + 1)
    for start, end in protected(text):
        guard[start:end] = b"\1" * (end - start)
    return bytes(guard)


def takes_a_marker(text: str, segment: Segment) -> bool:
    """Whether docent may add a marker at this segment's end: not after a line that ends in
    code with no full stop (`order hosts,bind`, `plugin "ssh %h /usr/sbin/imapd"`), where a
    reader copying the line would copy the marker too."""
    if segment.code:
        return False
    body = text[segment.start : segment.end].rstrip()
    if body.endswith((".", "!", "?")):
        return True
    last = body.rstrip("\"'”’)*_").rsplit(None, 1)[-1:] or [""]
    return not (_CODE_SHAPE.search(last[0].strip(_LEADING)) or body.endswith("`"))


def citation_point(text: str, segment: Segment) -> int:
    """Where a marker added to this segment goes: after its last word, before its closing
    punctuation (after it, when the punctuation belongs to an abbreviation like "e.g.")."""
    body = text[segment.start : segment.end].rstrip()
    end = segment.start + len(body)
    stop = end
    while stop > segment.start and text[stop - 1] in ".!?:;":
        stop -= 1
    if stop == end:
        return end
    if _guard(text)[stop]:
        return end  # the punctuation is part of a protected stretch
    word = _token_before(text, stop).lstrip(_LEADING)
    if _INITIALS.fullmatch(word) or word.lower() in _ABBREVIATIONS:
        return end
    return stop


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)
