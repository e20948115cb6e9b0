"""The Qt boundary: QObject workers that run blocking work off the GUI thread and report through
signals. Nothing here imports torch.

    session.py   `SessionWorker`: owns the `LiveSession` (models, devices) on its own thread
    tape.py      `LevelTape`: the waveform's peak levels, decimated from the audio events
    host.py      `WorkerHost`: one worker object on a QThread of its own (the dialogs' helpers)
    levels.py    test tone and microphone level (device dialog)
    probe.py     testing a chat server, reading the model cache (settings dialog)
    download.py  the model download (download dialog)
    sample.py    `SampleAudio`: record, read, play and write a voice sample (voice dialog,
                 dialogue panel)
    dialogue.py  rendering a dialogue (dialogue panel)
"""
