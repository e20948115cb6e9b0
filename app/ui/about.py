"""The About box: version, the models and their licences, and the intended use of Dia2."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app import __version__
from app.core import APP_TITLE

MODELS = (
    ("Dia2 (Nari Labs), 1B and 2B", "Apache-2.0", "https://huggingface.co/nari-labs"),
    ("Mimi codec (Kyutai, from moshiko)", "CC-BY-4.0", "https://huggingface.co/kyutai"),
    ("Whisper via faster-whisper (OpenAI / SYSTRAN)", "MIT", "https://github.com/SYSTRAN/faster-whisper"),
    ("Silero VAD (shipped with faster-whisper)", "MIT", "https://github.com/snakers4/silero-vad"),
    ("Reply model: your choice (see its own licence)", "varies", ""),
)

INTENDED_USE = (
    "Dia2 is released for research and personal use. Its authors ask that it is not used to "
    "imitate a real person's voice without that person's consent, to make content meant to "
    "deceive (such as fake news or fraud calls), or for anything illegal or harmful. This app "
    "keeps that request: use voices you have the right to use, and say when speech is generated."
)


def about_html() -> str:
    rows = "".join(
        f"<tr><td>{name}</td><td>&nbsp;{lic}&nbsp;</td>"
        f"<td>{f'<a href={url!r}>{url}</a>' if url else ''}</td></tr>"
        for name, lic, url in MODELS
    )
    return (
        f"<h3>{APP_TITLE} {__version__}</h3>"
        "<p>Talk with a local character that answers in its own voice. Everything runs on this "
        "computer; after the models are downloaded nothing leaves it (unless you point the reply "
        "brain at a server).</p>"
        f"<p><b>Models and licences</b></p><table>{rows}</table>"
        f"<p><b>Intended use</b><br>{INTENDED_USE}</p>"
        "<p>Built with PySide6 (Qt, LGPL-3.0), PyTorch, moshi and huggingface_hub.</p>"
    )


def show_about(parent: QWidget | None) -> None:
    box = QMessageBox(parent)
    box.setWindowTitle(f"About {APP_TITLE}")
    box.setTextFormat(box.textFormat().RichText)
    box.setText(about_html())
    box.exec()
