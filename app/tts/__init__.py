"""Dia2 runtime: loads the published Dia2 checkpoints and streams speech. No Qt here.

Use it through `engine.py` (import the modules themselves; this file imports nothing):

    from app.tts.engine import Dia2Engine
    from app.tts.options import GenerationOptions

    engine = Dia2Engine.load_folder("Dia2-2B/", device="cuda", precision="reference")
    result = engine.generate("[S1] Hello!", GenerationOptions(), prefix=[...])
    stream = engine.stream(GenerationOptions())
    stream.push_text("[S1] Hello there"); stream.finish()
    for event in stream: ...   # AudioFrame / WordEvent, as soon as each is final

Modules:

    config.py         the checkpoint's config.json as frozen dataclasses
    options.py        the user's generation options (light: no torch)
    shapes.py         the published Dia2-1B / 2B shapes (light)
    precision.py      float32 / reference / fast dtypes
    tokenizer.py      the checkpoint's tokenizer, loaded as the reference does
    script.py         script text -> state-machine entries
    state_machine.py  the text state machine (action -> text tokens)
    layers.py, decoder.py, depformer.py, model.py   the networks (weights only)
    weights.py        strict safetensors loading
    cache.py          preallocated key/value caches
    sampling.py       guidance and sampling, pure tensor functions
    prefix.py         conditioning on earlier turns (`PrefixTurn`; words are `app.core.Word`)
    frame.py          one frame's network work, eager or as CUDA graphs
    generator.py      `Generation`: explicit generation state and the frame step
    stream.py         `Dia2Stream`: incremental text in, `AudioFrame` / `WordEvent` out
    engine.py         `Dia2Engine`: the facade (load, generate, stream)
"""
