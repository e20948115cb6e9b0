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
    _report_unexpected_errors(window)
    window.show()
    QTimer.singleShot(0, window.start_session)
    return app.exec()


def _report_unexpected_errors(window) -> None:
    """An exception nobody caught (in a slot, or on a thread) is logged and shown in the window's
    banner instead of ending the app."""
    import threading

    from PySide6.QtCore import QTimer

    def show(exc: BaseException) -> None:
        message = (f"Something went wrong: {exc}. If the conversation stopped, start a new one "
                   "(Ctrl+N); run with -v to see the details in the log.")
        QTimer.singleShot(0, window, lambda: window.show_error(message, where="app"))

    def on_main(exc_type, exc, tb) -> None:
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        show(exc)

    def on_thread(args) -> None:
        log.error("unexpected error on thread %s", args.thread.name if args.thread else "?",
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        if args.exc_value is not None:
            show(args.exc_value)

    sys.excepthook = on_main
    threading.excepthook = on_thread
