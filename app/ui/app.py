"""Start the desktop app: the Qt application, the theme, the main window.

Before Qt is touched, `check_display()` makes sure there is a display to open (else one line
says what to do, instead of Qt's abort). Ctrl+C in the terminal and SIGTERM close the window the
way Quit does (the conversation's recording is finished), and the exit code says which ended it
(130, 143). Python runs signal handlers only between its own instructions, so a wakeup socket
wakes the Qt event loop when a signal arrives.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from pathlib import Path

from app.core import APP_TITLE
from app.errors import UserError

log = logging.getLogger(__name__)

SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}  # exit code when a signal closed it


def check_display(env: dict[str, str] | None = None, platform: str | None = None) -> None:
    """Raise `UserError` when the window could not open for want of a display (Linux/BSD)."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    if platform.startswith(("win", "darwin")):
        return
    qpa = env.get("QT_QPA_PLATFORM", "")
    if qpa and not qpa.startswith(("xcb", "wayland")):
        return  # offscreen, vnc, eglfs...: Qt needs no desktop session for these
    display, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if not display and not wayland:
        raise UserError(
            "no display was found (DISPLAY and WAYLAND_DISPLAY are not set), so the window cannot "
            "open: run it in a desktop session or over `ssh -X`, or use the commands that need no "
            "display (say, chat, chat --headless, transcribe, download, doctor); "
            "QT_QPA_PLATFORM=offscreen runs the window invisibly")
    if display and not wayland and _local_x_socket_missing(display):
        raise UserError(
            f"no X server answers on display {display} (DISPLAY is set, but nothing listens there): "
            "start the desktop session or fix DISPLAY, connect with `ssh -X`, or use the commands "
            "that need no display (say, chat, chat --headless, transcribe, download, doctor)")


def _local_x_socket_missing(display: str) -> bool:
    """True when `display` is a local one (":N") whose X socket does not exist."""
    if not display.startswith(":"):
        return False  # host:N, or a launchd path: cannot tell without connecting
    number = display[1:].split(".")[0]
    if not number.isdigit():
        return False
    return not Path(f"/tmp/.X11-unix/X{number}").exists()


def run_window(demo: bool = False, character: str | None = None, on_shown=None) -> int:
    """Open the window and run until it closes; returns the exit code. `on_shown(window)` is
    called once the window is shown, before its models start loading (`bench --startup`)."""
    from dataclasses import replace

    check_display()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.settings import load_settings
    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_TITLE)
    app.setOrganizationName("dia2-voicechat")
    app.setDesktopFileName("dia2chat")
    settings = load_settings()
    if character:
        settings = replace(settings, character=character)
    apply_theme(app, settings.theme)
    window = MainWindow(settings, demo=demo)
    _report_unexpected_errors(window)
    closed_by = close_on_signals(window)
    window.show()
    if on_shown is not None:
        on_shown(window)
    QTimer.singleShot(0, window.start_session)
    code = app.exec()
    return SIGNAL_EXIT[closed_by[0]] if closed_by else code


def close_on_signals(window) -> list[int]:
    """Make SIGINT (Ctrl+C) and SIGTERM close `window` as Quit does. Returns a list that gets the
    signal's number once one closed it."""
    from PySide6.QtCore import QSocketNotifier, QTimer

    closed_by: list[int] = []
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)

    def drain() -> None:  # running Python here lets the pending handler run
        try:
            while reader.recv(64):
                pass
        except BlockingIOError:
            pass

    def on_signal(signum, frame) -> None:
        if not closed_by:
            closed_by.append(signum)
            log.info("signal %d: closing the window", signum)
            QTimer.singleShot(0, window, window.close)

    notifier.activated.connect(drain)
    for sig in SIGNAL_EXIT:
        signal.signal(sig, on_signal)
    window._signal_wakeup = (reader, writer, notifier)  # kept alive with the window
    return closed_by


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
        if issubclass(exc_type, KeyboardInterrupt):  # Ctrl+C reached a slot: close, as Quit
            QTimer.singleShot(0, window, window.close)
            return
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        show(exc)

    def on_thread(args) -> None:
        log.error("unexpected error on thread %s", args.thread.name if args.thread else "?",
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        if args.exc_value is not None:
            show(args.exc_value)

    sys.excepthook = on_main
    threading.excepthook = on_thread
