"""The conversation view: the turns of both sides, with the character's words lighting up as heard.

Each turn is a `TurnBubble` that lays its words out itself (so it knows where each word is, for
hover tool tips with the word's times). A character's words arrive as Dia2 finds them, dim; each
lights up when the playback clock passes its start on the session timeline, and the word being
spoken is marked. The person's words appear when recognised.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QToolTip, QVBoxLayout, QWidget

PAD = 10  # inner margin of a bubble (px)
GAP = 4  # space between lines (px)


@dataclass
class ShownWord:
    """A word in a bubble; times are seconds on the turn's own audio."""

    text: str
    start: float
    end: float | None = None


class TurnBubble(QWidget):
    """One turn: the speaker's name and the words, wrapped to the width."""

    def __init__(self, speaker: str, character: bool, parent=None) -> None:
        super().__init__(parent)
        self.speaker = speaker
        self.character = character
        self.words: list[ShownWord] = []
        self.start: float | None = None  # timeline of the turn's first sample, once known
        self.interrupted = False
        self.final = False
        self._heard = 0  # words heard so far (character turns)
        self._boxes: list[QRect] = []
        self._width = -1
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setMouseTracking(True)

    # -- content -------------------------------------------------------------------------------
    def add_word(self, word: ShownWord) -> None:
        self.words.append(word)
        self._relayout()

    def set_words(self, words: list[ShownWord]) -> None:
        self.words = list(words)
        self._heard = min(self._heard, len(self.words))
        self._relayout()

    def heard_count(self) -> int:
        """Words shown as heard: all of a person's turn; a character's up to the clock."""
        return len(self.words) if not self.character else self._heard

    def set_now(self, now: float | None) -> bool:
        """Move the playback clock (timeline seconds); True if what is lit changed."""
        if not self.character:
            return False
        if self.final and self.start is None:
            heard = len(self.words)
        elif self.start is None or now is None:
            heard = 0
        else:
            heard = sum(1 for w in self.words if self.start + w.start <= now)
        if heard != self._heard:
            self._heard = heard
            self.update()
            return True
        return False

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    # -- layout --------------------------------------------------------------------------------
    def _relayout(self) -> None:
        self._width = -1
        self.updateGeometry()
        self.update()

    def _layout(self, width: int) -> int:
        """Place the words for `width`; returns the height needed."""
        fm = QFontMetrics(self.font())
        bold = self.font()
        bold.setBold(True)
        line = fm.height()
        x, y = PAD, PAD + QFontMetrics(bold).height() + GAP
        space = fm.horizontalAdvance(" ")
        self._boxes = []
        for w in self.words:
            wd = fm.horizontalAdvance(w.text)
            if x > PAD and x + wd > width - PAD:
                x, y = PAD, y + line + GAP
            self._boxes.append(QRect(x, y, wd, line))
            x += wd + space
        self._width = width
        return y + line + PAD

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        return self._layout(width)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        w = max(200, self.width())
        return QSize(w, self._layout(w))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(120, self._layout(max(120, self.width())))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._layout(self.width())
        super().resizeEvent(event)

    # -- painting and tool tips ------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._width != self.width():
            self._layout(self.width())
        pal = self.palette()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = pal.color(QPalette.ColorRole.Highlight)
        base = pal.color(QPalette.ColorRole.AlternateBase if self.character else QPalette.ColorRole.Base)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(base)
        p.drawRoundedRect(self.rect().adjusted(1, 1, -1, -1), 8, 8)
        bold = self.font()
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(accent if self.character else pal.color(QPalette.ColorRole.Text))
        title = self.speaker + ("  (interrupted)" if self.interrupted else "")
        p.drawText(QPoint(PAD, PAD + QFontMetrics(bold).ascent()), title)
        p.setFont(self.font())
        text = pal.color(QPalette.ColorRole.Text)
        dim = QColor(text)
        dim.setAlphaF(0.35)
        heard = self.heard_count()
        speaking = self.character and not self.final and 0 < heard <= len(self.words)
        for i, (w, box) in enumerate(zip(self.words, self._boxes, strict=False)):
            if speaking and i == heard - 1:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(accent)
                p.drawRoundedRect(box.adjusted(-3, -1, 3, 1), 4, 4)
                p.setPen(pal.color(QPalette.ColorRole.HighlightedText))
            else:
                p.setPen(text if i < heard else dim)
            p.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, w.text)
        p.end()

    def word_at(self, pos: QPoint) -> int | None:
        """Index of the word under `pos`, if any."""
        if self._width != self.width():
            self._layout(self.width())
        for i, box in enumerate(self._boxes):
            if box.adjusted(-2, -2, 2, 2).contains(pos):
                return i
        return None

    def word_tip(self, i: int) -> str:
        w = self.words[i]
        span = f"{w.start:.2f}–{w.end:.2f} s" if w.end is not None else f"from {w.start:.2f} s"
        tip = f"“{w.text}”: {span} into the turn"
        if self.start is not None:
            tip += f"\nsession time {self.start + w.start:.2f} s"
        return tip

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            i = self.word_at(event.pos())
            if i is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), self.word_tip(i), self)
            return True
        return super().event(event)


class ConversationView(QScrollArea):
    """All the turns, newest at the bottom; follows the newest while scrolled to the end."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        self._box = QVBoxLayout(inner)
        self._box.setContentsMargins(12, 12, 12, 12)
        self._box.setSpacing(8)
        self._box.addStretch(1)
        self.setWidget(inner)
        self.person: dict[int, TurnBubble] = {}
        self.replies: dict[int, TurnBubble] = {}
        self.character_name = "Character"
        self.verticalScrollBar().rangeChanged.connect(self._follow)
        self._at_end = True
        self.verticalScrollBar().valueChanged.connect(self._track_end)

    def _track_end(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._at_end = value >= bar.maximum() - 4

    def _follow(self, _lo: int, hi: int) -> None:
        if self._at_end:
            QTimer.singleShot(0, lambda: self.verticalScrollBar().setValue(self.verticalScrollBar().maximum()))

    def _add(self, bubble: TurnBubble) -> TurnBubble:
        self._box.insertWidget(self._box.count() - 1, bubble)
        return bubble

    def clear(self) -> None:
        for b in [*self.person.values(), *self.replies.values()]:
            b.setParent(None)
            b.deleteLater()
        self.person.clear()
        self.replies.clear()

    def bubbles(self) -> list[TurnBubble]:
        """The bubbles in order, top to bottom."""
        out = []
        for i in range(self._box.count()):
            w = self._box.itemAt(i).widget()
            if isinstance(w, TurnBubble):
                out.append(w)
        return out

    # -- from pipeline events --------------------------------------------------------------------
    def person_words(self, turn: int, words, timeline: float) -> None:
        b = self.person.get(turn) or self._add(TurnBubble("You", False))
        self.person[turn] = b
        b.start = timeline
        b.final = True
        b.set_words([ShownWord(w.text, w.start, w.end) for w in words] or [ShownWord("(nothing recognised)", 0.0)])

    def reply_word(self, turn: int, word: str, start: float) -> None:
        b = self._reply(turn)
        b.add_word(ShownWord(word, start))

    def reply_placed(self, turn: int, timeline: float) -> None:
        self._reply(turn).start = timeline

    def _reply(self, turn: int) -> TurnBubble:
        b = self.replies.get(turn)
        if b is None:
            b = self.replies[turn] = self._add(TurnBubble(self.character_name, True))
        return b

    def turn_added(self, turn) -> None:
        """A turn is final: the character's shows what was heard, with times."""
        if turn.speaker != 1:
            return
        b = self._reply(turn.index)
        b.final = True
        b.interrupted = bool(turn.interrupted)
        b.start = turn.timeline if b.start is None else b.start
        if turn.words:
            b.set_words([ShownWord(w.text, w.start, w.end) for w in turn.words])
        elif turn.interrupted:
            b.set_words([])
        b.update()

    def set_now(self, now: float | None) -> None:
        for b in self.replies.values():
            b.set_now(now)
