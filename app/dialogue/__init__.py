"""Dialogues of any length: a script cut into planned Dia2 generations, rendered as one episode.

    script.py    the script as turns of words and pauses (the engine's word rules, line numbers)
    planner.py   the pure chunk planner and the prefix choice of each generation
    voices.py    the two speakers' voice samples (audio, words, codes), cropped for the prefix
    store.py     the render's work folder: what is finished, so a render can resume
    render.py    the renderer: one generation after another, one streaming Mimi decoder
    outputs.py   the mix, one track per speaker, transcript.json and subtitles
    episode.py   one script from file to outputs (used by `say --script`, batches, the window)
    progress.py  progress with the time left, as numbers and as a text bar

No Qt here: the window's dialogue panel (app/ui/dialogue_panel.py) drives `episode.py` through
its worker (app/workers/dialogue.py).
"""
