"""Tests of the window and its workers (pytest-qt, offscreen)."""
