"""Tests of app.asr: voice activity, endpointing, recognition."""
