"""The audio codec: Kyutai's Mimi through the `moshi` package. No Qt here.

    mimi.py   `MimiCodec`: load, batch encode/decode, `MimiStreamDecoder` (one frame of codes
              in, 1920 samples out, state kept between calls); `check_audio`
    voice.py  `prepare_voice`: a voice-sample file read, checked and converted to 24 kHz mono

The rates (24 kHz, 12.5 frames a second, 1920 samples a frame) are in `app.core`.
"""
