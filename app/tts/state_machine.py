"""The text state machine: turns each sampled action into the text tokens of the next step.

The decoder predicts one action a frame: PAD (keep speaking the current word) or NEW_WORD (start
the next entry). The machine enforces the padding rules, pops entries, and emits the main text
token and the second-stream token (which runs `second_stream_ahead` words ahead).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

MAX_PADDING = 6  # padding budget restored after each word


@dataclass(frozen=True)
class Entry:
    """One word of the script (or one pause)."""

    tokens: tuple[int, ...]  # token ids; empty for a pause
    text: str  # the word as written ("" for a pause)
    padding: int  # forced padding frames after the word starts


@dataclass(frozen=True)
class TextIds:
    """The text token ids the machine emits."""

    pad: int
    new_word: int


@dataclass
class MachineState:
    """Per-request state; owned by one generation."""

    entries: deque[Entry]  # words not yet started; grows while text streams in
    padding_budget: int  # frames of padding allowed before a new word is forced
    forced_padding: int  # frames that must be padding
    pending: deque[int] = field(default_factory=deque)  # tokens of the current word not yet emitted
    lookahead: deque[int] = field(default_factory=deque)  # second-stream tokens not yet emitted
    end_step: int | None = None  # step at which the entries ran out
    transcript: list[tuple[str, int]] = field(default_factory=list)  # (word, step it started)

    def token_entries_waiting(self) -> int:
        """How many waiting entries carry tokens (pauses excluded)."""
        return sum(1 for e in self.entries if e.tokens)


class TextStateMachine:
    """Stateless rules; all state is in a `MachineState`."""

    def __init__(self, ids: TextIds, *, second_stream_ahead: int) -> None:
        self.ids = ids
        self.ahead = second_stream_ahead

    def new_state(self, initial_padding: int, entries: list[Entry] | None = None) -> MachineState:
        return MachineState(
            entries=deque(entries or ()),
            padding_budget=initial_padding,
            forced_padding=initial_padding,
        )

    def process(self, step: int, state: MachineState, action: int, *, forced: bool = False) -> tuple[int, int]:
        """Apply one action (0 = PAD, 1 = NEW_WORD) at `step`; return (main, second) tokens."""
        pad, new_word = self.ids.pad, self.ids.new_word
        is_new_word = action == 1
        # Constraints.
        if state.pending:
            is_new_word = False
        elif not forced:
            if state.forced_padding > 0:
                is_new_word = False
            elif state.padding_budget <= 0:
                is_new_word = True
        # Start the next word.
        if is_new_word:
            if state.entries:
                entry = state.entries.popleft()
                if entry.tokens:
                    state.transcript.append((entry.text, step))
                    state.pending.extend(entry.tokens)
                    if self.ahead:
                        state.lookahead.extend(self._peek(state, self.ahead))
                    state.padding_budget = MAX_PADDING
                else:
                    is_new_word = False  # a pause
                state.forced_padding = entry.padding
            else:
                first_end = state.end_step is None
                if first_end:
                    state.end_step = step
                is_new_word = bool(self.ahead) and first_end
        # Output.
        if is_new_word:
            main = new_word
        else:
            state.padding_budget = max(state.padding_budget - 1, 0)
            state.forced_padding = max(state.forced_padding - 1, 0)
            main = state.pending.popleft() if state.pending else pad
        if not self.ahead:
            return main, main
        if main == new_word:
            return (state.pending.popleft() if state.pending else pad), new_word
        return main, (state.lookahead.popleft() if state.lookahead else pad)

    @staticmethod
    def _peek(state: MachineState, count: int) -> tuple[int, ...]:
        """Tokens of the `count`-th waiting entry that has tokens (pauses skipped), or ()."""
        for entry in state.entries:
            if entry.tokens:
                count -= 1
                if count == 0:
                    return entry.tokens
        return ()
