"""Light and dark themes. "system" follows the desktop (Qt 6.5+ reports its colour scheme and
keeps following it); "light" and "dark" force a Fusion palette."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")


def _dark_palette() -> QPalette:
    p = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#17181a", QPalette.ColorRole.AlternateBase: "#2a2b2e",
        QPalette.ColorRole.Text: "#e8eaed", QPalette.ColorRole.Button: "#2d2e31",
        QPalette.ColorRole.ButtonText: "#e8eaed", QPalette.ColorRole.Highlight: "#8ab4f8",
        QPalette.ColorRole.HighlightedText: "#202124", QPalette.ColorRole.ToolTipBase: "#2d2e31",
        QPalette.ColorRole.ToolTipText: "#e8eaed", QPalette.ColorRole.PlaceholderText: "#9aa0a6",
        QPalette.ColorRole.Mid: "#5f6368", QPalette.ColorRole.Link: "#8ab4f8",
    }
    for role, value in colors.items():
        p.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b6f75"))
    return p


def _light_palette() -> QPalette:
    p = QApplication.style().standardPalette()
    p.setColor(QPalette.ColorRole.AlternateBase, QColor("#eef1f7"))
    p.setColor(QPalette.ColorRole.Highlight, QColor("#3b6fd4"))
    return p


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply `theme` ("system", "light" or "dark"); returns the one applied."""
    theme = theme if theme in THEMES else "system"
    app.setStyle("Fusion")
    if theme == "system":
        scheme = app.styleHints().colorScheme()
        theme_now = "dark" if scheme == Qt.ColorScheme.Dark else "light"
    else:
        theme_now = theme
    app.setPalette(_dark_palette() if theme_now == "dark" else _light_palette())
    return theme
