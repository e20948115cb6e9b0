"""Model files: where they come from, what they weigh, and the models built or shipped locally.
No Qt here.

    hub.py         a local folder, or a Hugging Face repository fetched on demand (the cache)
    fetch.py       a download planned up front, run with progress, cancellation and resume
    setup.py       the repositories a setup needs; `choose_dia2` (the "auto" model choice)
    sizes.py       what each model takes on disk and in GPU memory
    choice.py      `TtsChoice`, `DEFAULT_MODEL`: what to load (light: no torch)
    tts_loader.py  `load_tts`: a `TtsChoice` -> a ready `Dia2Engine` with its Mimi codec
    demo_dia2.py, demo_mimi.py   tiny random-weight Dia2 and Mimi built locally for `--demo`
    packaged.py    real models shipped as Python packages (Whisper base, SmolLM2)
"""
