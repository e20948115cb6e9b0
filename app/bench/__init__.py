"""Benchmarks (a command, not tests): TTS speed, time to first audio, prefill, memory."""
