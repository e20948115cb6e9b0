"""Start the desktop app: the Qt application, the theme, the main window."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)


def run_window(demo: bool = False, character: str | None = None) -> int:
    """Open the window and run until it closes; returns the exit code."""
    from dataclasses import replace

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.settings import load_settings
    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Dia2 Voice Chat")
    app.setOrganizationName("dia2-voicechat")
    app.setDesktopFileName("dia2chat")
    settings = load_settings()
    if character:
        settings = replace(settings, character=character)
    apply_theme(app, settings.theme)
    window = MainWindow(settings, demo=demo)
    window.show()
    QTimer.singleShot(0, window.start_session)
    return app.exec()
