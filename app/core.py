"""Values shared across the packages: the app's name, the audio rates, a word with its times.

Light on purpose: it imports nothing beyond the standard library (no torch, numpy or Qt), so the
command line, the settings and the event types can use it without loading the models' stack.
The app's folders are in `app.paths`.
"""

from __future__ import annotations

from dataclasses import dataclass

APP_NAME = "dia2-voicechat"  # the folder name of the app's files (settings, characters, sessions)
APP_TITLE = "Dia2 Voice Chat"  # what the window, the About box and --version call the app

SAMPLE_RATE = 24000  # Hz: Mimi's and Dia2's audio, the rate of the app's own audio paths
FRAME_RATE = 12.5  # Mimi (and Dia2) frames a second
FRAME_SAMPLES = 1920  # samples in one frame (80 ms): SAMPLE_RATE / FRAME_RATE
ASR_RATE = 16000  # Hz: what voice activity and the recogniser take


@dataclass(frozen=True)
class Word:
    """A word with its times: recognised, in a prefix turn, or in a reply.

    Times are seconds on the word's own timeline (its utterance's, turn's or reply's first sample).
    """

    text: str  # the word, punctuation included, without surrounding spaces
    start: float  # seconds from the start of its timeline
    end: float  # seconds from the start of its timeline
    probability: float | None = None  # the recogniser's confidence, 0..1; None when not recognised
