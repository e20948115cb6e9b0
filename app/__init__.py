"""Dia2 voice chat: a desktop voice-chat app around Nari Labs' Dia2 streaming TTS."""

__version__ = "0.1.0"
