"""Where the character's replies come from. No Qt; torch and transformers are imported only when
a local model loads.

Every reply source is a `Brain` (base.py): `reply(history, cancel=...)` yields text pieces as
they arrive. `make_brain(config)` (factory.py) builds one from its frozen config.

    base.py           `Brain`, `BrainError`, `Message`, `Role`, `trim_history`
    factory.py        `BrainConfig`, `make_brain`, `brain_config_from_mapping` (character files)
    local_llm.py      `TransformersBrain`, `TransformersConfig`: a local model with transformers
    gguf.py           reply models given as one GGUF file, prepared once as a transformers folder
    demo_llm.py       a tiny random-weight chat model built locally (tests of the mechanics)
    openai_compat.py  `OpenAICompatibleBrain`: any OpenAI-compatible server, streamed (sse.py)
    script.py         `ScriptBrain`: replies read from a dialogue script
    typed.py          `TypedBrain`: the character says what the person typed
    persona.py        the system prompt that keeps replies short and speakable
    sentences.py      a cap on a streamed reply's sentences
    speech_text.py, speech_clean.py   reply text made speakable (`speech_words`, `WordChunker`,
                      `clean_for_speech`)
"""
