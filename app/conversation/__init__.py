"""The conversation: characters, turns, the prefix budget, the turn pipeline, barge-in and the
session recording. No Qt here: the window, the terminal chat and the headless mode all drive
`TurnPipeline` and consume its events.

Modules: character (TOML characters, voice-sample words), turns (Turn, Conversation), budget
(the prefix budget policy), events (typed events), reply (brain text -> words), speaking (words
-> Dia2 segments -> sink), pipeline (the worker), sinks (playback sinks with a clock), timeline
(where turns lie in the recording), bargein (echo gate), wavlog / recorder / subtitles / export
(the session folder), session / runner (wiring a session; headless mode), live (terminal chat).
"""

from app.conversation.budget import PrefixBudget, PrefixChoice, choose_prefix
from app.conversation.character import Character, Dia2Settings, find_character, load_character
from app.conversation.events import (
    AudioLevel,
    Error,
    Event,
    Interrupted,
    OutputChunk,
    PersonWords,
    ReplyWord,
    State,
    StateChanged,
    TurnAdded,
    TurnTimings,
)
from app.conversation.pipeline import PipelineConfig, TurnPipeline
from app.conversation.recorder import SessionRecorder
from app.conversation.sinks import DeviceSink, PlaybackSink, VirtualSink
from app.conversation.turns import CHARACTER, PERSON, Conversation, Turn

__all__ = [
    "CHARACTER", "PERSON", "AudioLevel", "Character", "Conversation", "DeviceSink", "Dia2Settings",
    "Error", "Event", "Interrupted", "OutputChunk", "PersonWords", "PipelineConfig", "PlaybackSink",
    "PrefixBudget", "PrefixChoice", "ReplyWord", "SessionRecorder", "State", "StateChanged", "Turn",
    "TurnAdded", "TurnPipeline", "TurnTimings", "VirtualSink", "choose_prefix", "find_character",
    "load_character",
]
