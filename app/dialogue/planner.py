"""The chunk planner: which words each Dia2 generation speaks, and which rendered audio conditions it.

Dia2 sees at most `context_frames` (1500 frames = 120 s) per generation, and the prefix (the
voice samples and the newest rendered pieces, their codes and words) shares that context with
the new speech. A long script is therefore spoken in several generations, planned before the
first one starts, so that the plan is the same in every run (which is what makes `--resume`
give the same audio).

Worst cases, not averages. The text state machine bounds how long anything can take: a word
starts at most `max(tokens, MAX_PADDING) + 1` steps after the previous one, a pause of p frames
takes at most `p + MAX_PADDING + 1`, the first word comes within `lead_frames` of the prefix's
end, and the generation ends `tail_frames` after its last word (the largest codebook delay and
the flush padding). `item_frames` gives these bounds; the plan uses them, so a generation can
never run out of context before its last word.

The plan (`plan_chunks`):

1. A turn whose words fit in `piece_frames` stays whole. A longer one is cut into pieces of at
   most `piece_frames`: at the last sentence end (or pause) that keeps the piece within the limit,
   else at the last clause end, else, as a last resort, between two words. Words are never split,
   and a pause stays with the word before it (cuts go before words), so a piece's audio runs from
   its first word's start to the next piece's first word's start: its worst case is exact.
2. Pieces are packed into generations in script order, each generation taking pieces while their
   worst case stays within `content_frames`. So generations begin and end at turn boundaries,
   except inside a turn too long for one generation, where they fall between its pieces.

The prefix of each generation (`choose_history`) follows the conversation's budget rules
(`app.conversation.budget.choose_prefix`): the voice samples always come first; the generation's
worst case is reserved; what is left goes to the rendered pieces, newest first, whole pieces only,
stopping at the first that does not fit. Because a piece's audio is at most
`piece_frames + lead_frames + tail_frames` = `history_frames` long, and at least `history_frames`
are always left, the newest piece always fits: every generation hears what was said just before
(unless that piece is one word followed by pauses longer than `piece_frames`, about 20 s).

Together (`PlanLimits`), for every generation:
    prefix frames + worst case of its words + lead + tail <= context_frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.conversation.budget import PrefixBudget, PrefixChoice, choose_prefix
from app.conversation.reply import ends_clause, ends_sentence
from app.conversation.turns import Turn
from app.dialogue.script import DialogueScript, DialogueTurn, Item, Pause, ScriptWord
from app.errors import UserError
from app.tts.generator import FLUSH_PADDING
from app.tts.state_machine import MAX_PADDING

HISTORY_FRAMES = 300  # default frames kept for the newest rendered pieces (24 s)
MIN_CONTENT_FRAMES = 40  # a generation must be able to say at least this much (3.2 s)


@dataclass(frozen=True)
class PlanLimits:
    """How one generation's context is shared."""

    context_frames: int  # the checkpoint's context (max_context_steps)
    lead_frames: int  # worst case from the prefix's end (or the start) to the first word
    tail_frames: int  # frames after the last word: the largest codebook delay, flush padding, 1
    voice_frames: int  # frames of the voice samples, which are in every prefix
    history_frames: int  # frames always left for the newest rendered pieces

    def __post_init__(self) -> None:
        if self.piece_frames < MAX_PADDING + 1 or self.content_frames < MIN_CONTENT_FRAMES:
            if self.voice_frames:
                raise UserError(
                    f"the voice samples take {self.voice_frames} of the {self.context_frames} "
                    "frames of context and leave too little for the script; use shorter voice "
                    "samples"
                )
            raise UserError(f"a {self.context_frames}-frame context is too short for dialogues; "
                            "use a model with a longer context")
        if self.piece_frames > self.content_frames:
            raise UserError(
                f"history_frames ({self.history_frames}) may be at most half of what the voices "
                f"leave of the context ({self.context_frames - self.voice_frames} frames)"
            )

    @property
    def safety_frames(self) -> int:
        """Frames a generation needs beyond its words' worst case."""
        return self.lead_frames + self.tail_frames

    @property
    def content_frames(self) -> int:
        """The most (worst case) one generation may speak."""
        return self.context_frames - self.safety_frames - self.voice_frames - self.history_frames

    @property
    def piece_frames(self) -> int:
        """The most (worst case) one piece may take, so that its audio fits in the history."""
        return self.history_frames - self.safety_frames

    @classmethod
    def for_model(cls, context_frames: int, max_delay: int, initial_padding: int,
                  voice_frames: int = 0, history_frames: int | None = None) -> PlanLimits:
        """Limits for a checkpoint's context and delays, and voice samples of `voice_frames`."""
        lead = max(initial_padding, MAX_PADDING) + MAX_PADDING + 2
        tail = max_delay + FLUSH_PADDING + 1
        if history_frames is None:
            free = context_frames - voice_frames - lead - tail
            history_frames = min(HISTORY_FRAMES, max(free // 3, 0))
        return cls(context_frames, lead, tail, voice_frames, history_frames)


def item_frames(item: Item, word_tokens: Callable[[str], int]) -> int:
    """Worst-case frames of a word or a pause.

    `word_tokens(text)` is the number of text tokens of the word written with a speaker tag in
    front (`"[S2] word"`): the most a word can carry, since the first word of a generation may
    also get an `[S1]` put in front (one more token, counted here).
    """
    if isinstance(item, Pause):
        return item.frames + MAX_PADDING + 1
    return max(word_tokens(item.text) + 1, MAX_PADDING) + 1


@dataclass(frozen=True)
class Piece:
    """A whole turn, or a part of a turn too long to be one piece."""

    turn: int  # index of the script turn
    speaker: int  # 1 or 2
    start: int  # first item of the turn in the piece
    stop: int  # one past its last item
    frames: int  # worst case of its items

    def items(self, script: DialogueScript) -> tuple[Item, ...]:
        return script.turns[self.turn].items[self.start : self.stop]

    def words(self, script: DialogueScript) -> tuple[ScriptWord, ...]:
        return tuple(i for i in self.items(script) if isinstance(i, ScriptWord))


@dataclass(frozen=True)
class Chunk:
    """What one generation speaks."""

    index: int  # generation number (0-based)
    pieces: tuple[Piece, ...]  # in script order

    @property
    def frames(self) -> int:
        """Worst case of its words and pauses (lead and tail not included)."""
        return sum(p.frames for p in self.pieces)

    def words(self, script: DialogueScript) -> tuple[ScriptWord, ...]:
        return tuple(w for p in self.pieces for w in p.words(script))

    def parts(self, script: DialogueScript) -> list[tuple[int, tuple[Item, ...]]]:
        """(speaker, items) runs for `chunk_text`: consecutive pieces of one turn joined."""
        out: list[tuple[int, tuple[Item, ...]]] = []
        last_turn = None
        for p in self.pieces:
            if p.turn == last_turn:
                out[-1] = (out[-1][0], out[-1][1] + p.items(script))
            else:
                out.append((p.speaker, p.items(script)))
            last_turn = p.turn
        return out


def cut_quality(items: Sequence[Item], c: int) -> int:
    """How good a place the spot before `items[c]` (a word) is to cut a turn: 2 after a sentence
    end or a pause, 1 after a clause end, 0 between two words of a sentence."""
    before = items[c - 1]
    if isinstance(before, Pause) or ends_sentence(before.text):
        return 2
    return 1 if ends_clause(before.text) else 0


def split_turn(turn: DialogueTurn, frames: Sequence[int], limit: int) -> list[tuple[int, int]]:
    """Cut a turn into (start, stop) item ranges of at most `limit` worst-case frames each.

    Cuts go only before a word, so every piece but the script's very first starts with a word
    and keeps the pauses that follow its words. Each cut is the last sentence end (or pause)
    that keeps the piece within `limit`, else the last clause end, else the last word that
    fits. A word whose pauses alone exceed `limit` becomes a piece by itself.
    """
    items = turn.items
    n = len(items)
    if sum(frames) <= limit:
        return [(0, n)]
    total = [0]
    for f in frames:
        total.append(total[-1] + f)
    words = [c for c in range(n) if isinstance(items[c], ScriptWord)]
    out = []
    i = 0
    while i < n:
        first = next(c for c in words if c >= i)  # the piece's first word
        best, key = None, None
        later = [c for c in words if c > first] + [n]
        for c in later:
            if total[c] - total[i] > limit:
                break
            if c == n:
                best = n
                break
            k = (cut_quality(items, c), c)
            if key is None or k > key:
                best, key = c, k
        j = best if best is not None else later[0]  # else: one word and its pauses, too long
        out.append((i, j))
        i = j
    return out


def plan_chunks(script: DialogueScript, frames_of: Callable[[Item], int],
                limits: PlanLimits) -> tuple[Chunk, ...]:
    """Plan the generations of `script` (see the module docstring for the rules).

    Args:
        script: the parsed script.
        frames_of: worst-case frames of an item (`item_frames` with the model's tokenizer).
        limits: the context's shares.

    Raises UserError when a single word or pause cannot fit in one generation.
    """
    pieces: list[Piece] = []
    for turn in script.turns:
        frames = [frames_of(item) for item in turn.items]
        for start, stop in split_turn(turn, frames, limits.piece_frames):
            piece = Piece(turn.index, turn.speaker, start, stop, sum(frames[start:stop]))
            if piece.frames > limits.content_frames:  # one word with its pauses
                word = next(i for i in piece.items(script) if isinstance(i, ScriptWord))
                raise UserError(
                    f"line {turn.line}: the word {word.text!r} and the pauses after it are too "
                    f"long for one generation ({piece.frames} of {limits.content_frames} "
                    "frames); shorten the pauses"
                )
            pieces.append(piece)
    chunks: list[Chunk] = []
    current: list[Piece] = []
    used = 0
    for piece in pieces:
        if current and used + piece.frames > limits.content_frames:
            chunks.append(Chunk(len(chunks), tuple(current)))
            current, used = [], 0
        current.append(piece)
        used += piece.frames
    if current:
        chunks.append(Chunk(len(chunks), tuple(current)))
    return tuple(chunks)


def history_budget(limits: PlanLimits, chunk: Chunk) -> PrefixBudget:
    """The conversation's budget, sized for `chunk`: the voices are taken out of the context
    (they are always kept), the chunk's worst case is the reserve."""
    return PrefixBudget(
        context_frames=limits.context_frames - limits.voice_frames,
        reply_reserve_frames=max(MIN_CONTENT_FRAMES, chunk.frames),
        voice_max_frames=0,
        safety_frames=limits.safety_frames,
    )


def choose_history(history: Sequence[Turn], chunk: Chunk, limits: PlanLimits) -> PrefixChoice:
    """The rendered pieces that condition `chunk`: the newest whole ones that fit, by the
    conversation's rules. The voices (not passed here) come before them in the prefix."""
    return choose_prefix(None, history, history_budget(limits, chunk))
