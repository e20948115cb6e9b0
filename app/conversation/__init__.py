"""The conversation: characters, turns, the prefix budget, the turn pipeline, barge-in and the
session recording. No Qt here: the window, the terminal chat and the headless mode all drive
`TurnPipeline` and consume its events.

    character.py     `Character` from TOML files; the voice sample's words
    voice_sample.py  recording and storing a character's voice sample
    turns.py         `Turn`, `Conversation`
    budget.py        the prefix budget: which earlier turns condition the next reply
    events.py        the typed events the pipeline reports (light: no torch)
    reply.py         brain text -> whole speakable words
    speaking.py      words -> Dia2 segments -> the sink, heard audio into the recording
    pipeline.py      `TurnPipeline`: the worker that turns a person's turn into a spoken reply
    sinks.py         playback sinks with a clock (`DeviceSink`, `VirtualSink`)
    timeline.py      where turns lie in the recording
    bargein.py       the echo gate: the person speaking over the character
    wavlog.py, recorder.py, subtitles.py, export.py   the session folder
    options.py       `SessionOptions`: what the user chose, from the settings (light: no torch)
    setup.py         what a session is set up from: `open_models`, `make_session_brain`, the
                     voice turn, the session folder
    session.py       `Session`: one recorded conversation, running
    headless.py      `read_turns`, `run_headless`: turns from audio files, no sound device
    live.py          `LiveSession`: a session on the sound devices (terminal chat and window)
"""
