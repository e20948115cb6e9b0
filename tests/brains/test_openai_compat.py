"""The OpenAI-compatible brain against a real HTTP server streaming server-sent events."""

from __future__ import annotations

import threading

import pytest

from app.brains.base import BrainError, Message
from app.brains.openai_compat import OpenAICompatibleBrain, OpenAICompatibleConfig
from app.errors import UserError
from tests.brains.chat_server import REPLY, ChatServer, free_port

HISTORY = [Message("user", "Hi, who are you?")]


def brain_for(server: ChatServer, model: str, **kw) -> OpenAICompatibleBrain:
    return OpenAICompatibleBrain(
        OpenAICompatibleConfig(base_url=server.base_url, model=model, **kw)
    )


def collect(gen) -> tuple[list[str], BaseException | None]:
    """Pieces a reply yielded before it ended, and the error it ended with (if any)."""
    pieces: list[str] = []
    try:
        for piece in gen:
            pieces.append(piece)
    except BrainError as exc:
        return pieces, exc
    return pieces, None


def test_streams_pieces_in_order(chat_server: ChatServer) -> None:
    pieces = list(brain_for(chat_server, "good").reply(HISTORY))
    assert pieces == REPLY


def test_request_follows_the_protocol(chat_server: ChatServer) -> None:
    brain = brain_for(chat_server, "good", api_key="sk-test", temperature=0.2, max_tokens=50)
    list(brain.reply([Message("system", "Be brief."), *HISTORY]))
    req = chat_server.requests[-1]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    body = req["body"]
    assert body["stream"] is True and body["model"] == "good"
    assert body["temperature"] == 0.2 and body["max_tokens"] == 50
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi, who are you?"},
    ]


def test_default_persona_prompt_and_history_trimming(chat_server: ChatServer) -> None:
    history = [Message("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(9)]
    list(brain_for(chat_server, "good", max_history_messages=4).reply(history))
    messages = chat_server.requests[-1]["body"]["messages"]
    assert messages[0]["role"] == "system" and "sentences" in messages[0]["content"]
    assert [m["content"] for m in messages[1:]] == ["turn 5", "turn 6", "turn 7", "turn 8"]
    assert "Authorization" not in chat_server.requests[-1]["headers"]


def test_crlf_connection_close_stream(chat_server: ChatServer) -> None:
    assert list(brain_for(chat_server, "crlf-close").reply(HISTORY)) == REPLY


def test_server_that_ignores_stream_flag(chat_server: ChatServer) -> None:
    assert "".join(brain_for(chat_server, "json").reply(HISTORY)) == "".join(REPLY)


@pytest.mark.parametrize("model", ["drop", "drop-close"])
def test_dropped_connection_keeps_what_arrived_then_raises(
    chat_server: ChatServer, model: str
) -> None:
    pieces, error = collect(brain_for(chat_server, model).reply(HISTORY))
    assert pieces == REPLY[:3]
    assert isinstance(error, BrainError) and isinstance(error, UserError)
    assert "cut off" in str(error)
    assert chat_server.base_url in str(error)


def test_http_500_reports_the_servers_message(chat_server: ChatServer) -> None:
    pieces, error = collect(brain_for(chat_server, "crash").reply(HISTORY))
    assert pieces == []
    assert error is not None
    assert "500" in str(error) and "CUDA out of memory" in str(error)


def test_unknown_model_404_names_the_model(chat_server: ChatServer) -> None:
    _, error = collect(brain_for(chat_server, "nonesuch").reply(HISTORY))
    assert error is not None
    assert "404" in str(error) and "not found, try pulling it first" in str(error)
    assert "'nonesuch'" in str(error)


def test_malformed_stream(chat_server: ChatServer) -> None:
    pieces, error = collect(brain_for(chat_server, "malformed").reply(HISTORY))
    assert pieces == ["Hello"]
    assert error is not None and "malformed" in str(error)


def test_error_event_mid_stream(chat_server: ChatServer) -> None:
    pieces, error = collect(brain_for(chat_server, "midstream-error").reply(HISTORY))
    assert pieces == ["Hello"]
    assert error is not None and "server overloaded" in str(error)


def test_silent_server_times_out(chat_server: ChatServer) -> None:
    pieces, error = collect(brain_for(chat_server, "silent", read_timeout_s=0.3).reply(HISTORY))
    assert pieces == ["Hello"]
    assert error is not None and "cut off" in str(error) and "sent nothing" in str(error)


def test_unreachable_port() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    brain = OpenAICompatibleBrain(OpenAICompatibleConfig(base_url=url, model="good"))
    with pytest.raises(BrainError, match="Cannot reach the chat server") as info:
        list(brain.reply(HISTORY))
    assert url in str(info.value)


def test_cancel_stops_the_stream_and_closes_the_connection(chat_server: ChatServer) -> None:
    cancel = threading.Event()
    pieces = []
    for piece in brain_for(chat_server, "endless").reply(HISTORY, cancel=cancel):
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.set()
    assert pieces == [" w0", " w1", " w2"]
    assert chat_server.disconnected.wait(10), "the server kept streaming to a cancelled client"


def test_closing_the_generator_closes_the_connection(chat_server: ChatServer) -> None:
    gen = brain_for(chat_server, "endless").reply(HISTORY)
    assert next(gen) == " w0"
    gen.close()
    assert chat_server.disconnected.wait(10)


def test_cancel_before_start_sends_nothing(chat_server: ChatServer) -> None:
    cancel = threading.Event()
    cancel.set()
    assert list(brain_for(chat_server, "good").reply(HISTORY, cancel=cancel)) == []
    assert chat_server.requests == []


def test_check_connection_finds_the_model(chat_server: ChatServer) -> None:
    status = brain_for(chat_server, "good").check_connection()
    assert status.ok and "'good' is available" in status.message
    assert status.models == ("good", "llama3.2:latest")
    assert brain_for(chat_server, "llama3.2").check_connection().ok  # Ollama's ":latest"


def test_check_connection_missing_model(chat_server: ChatServer) -> None:
    status = brain_for(chat_server, "mistral").check_connection()
    assert not status.ok
    assert "no model 'mistral'" in status.message and "good" in status.message


def test_check_connection_without_models_route(chat_server: ChatServer) -> None:
    chat_server.no_models_route = True
    status = brain_for(chat_server, "good").check_connection()
    assert status.ok and "answered" in status.message
    assert chat_server.requests[-1]["body"]["max_tokens"] == 1


def test_check_connection_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    status = OpenAICompatibleBrain(OpenAICompatibleConfig(base_url=url)).check_connection()
    assert not status.ok and "Cannot reach" in status.message


def test_bad_url_is_a_user_error() -> None:
    with pytest.raises(UserError, match="http"):
        OpenAICompatibleConfig(base_url="localhost:11434")
