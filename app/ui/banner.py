"""A message strip above the conversation: what went wrong and what to do, with action buttons."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton


class Banner(QFrame):
    """Hidden until `show_message`; the person closes it, or the next message replaces it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(self.label.textInteractionFlags().TextSelectableByMouse)
        self._box = QHBoxLayout(self)
        self._box.setContentsMargins(10, 6, 6, 6)
        self._box.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide_message)
        self._box.addWidget(close)
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text()

    def show_message(self, message: str, actions: Sequence[tuple[str, Callable[[], None]]] = (),
                     error: bool = False) -> None:
        for b in self._buttons:
            b.setParent(None)
            b.deleteLater()
        self._buttons = []
        for text, slot in actions:
            b = QPushButton(text)
            b.clicked.connect(slot)
            self._box.insertWidget(self._box.count() - 1, b)
            self._buttons.append(b)
        self.label.setText(message)
        color = "#f8d7da" if error else "#fff3cd"
        self.setStyleSheet(f"#banner {{ background: {color}; border-radius: 6px; }} "
                           "#banner QLabel { color: #202124; }")
        self.show()

    def hide_message(self) -> None:
        self.hide()
        self.label.clear()
