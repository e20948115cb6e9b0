"""Benchmarks (`main.py bench`, a command, not tests): TTS speed, time to first audio, prefill,
loading, precision agreement, the GPU check, thread plans, a whole turn, dialogues, echo
cancellation, the window's event loop. Each module is one benchmark; see docs/benchmarks.md."""
