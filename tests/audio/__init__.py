"""Tests of app.audio: ring buffers, resampling, files, devices, capture and playback."""
