"""Speech in: voice activity, turn endpointing and recognition with word times. No Qt.

    vad.py         `VadConfig`, `SileroVad`, `StreamingVad`, `SpeechStart`, `SpeechEnd`,
                   `detect_speech(audio16k)`: the Silero model shipped with faster-whisper,
                   streaming events at 16 kHz
    endpoint.py    `TurnDetector(vad)`, `PushToTalk()`, `Utterance`: utterances cut from
                   `CaptureChunk`s with their audio at 16 kHz (recognition) and 24 kHz (Mimi)
    recognizer.py  `AsrConfig`, `Recognizer(config, loader=..., resolver=...)`:
                   `transcribe(audio16k) -> list[app.core.Word]` with times on the utterance's
                   own timeline; empty or silent audio returns [] without loading the model
    models.py      `resolve_model(spec, cache_dir=None, allow_download=True) -> Path`: a folder,
                   or a size name / Hub id from the local cache or downloaded with progress
    cuda_libs.py   CUDA 12's cuBLAS for CTranslate2 on a GPU (the nvidia-cublas-cu12 wheel)
    demo.py        `build_demo_whisper()`: a tiny random-weight CTranslate2 Whisper built locally
                   (tests of the mechanics); `--demo` recognises with the real Whisper base from
                   its packages (`app.assets.packaged.packaged_asr_config`)
"""
