"""Replies from any OpenAI-compatible chat-completions server, streamed.

Ollama, llama.cpp's server, vLLM and LM Studio all speak this protocol: `POST
{base_url}/chat/completions` with `"stream": true` answers with server-sent events whose data is
a JSON chunk (`choices[0].delta.content` holds the next text) and ends with `data: [DONE]`.
Only the standard library is used (http.client). Cancellation is checked between stream events;
`abort()` (and `close()`) shut the connection of the reply in flight, so a reader waiting on a
stalled server returns at once; a server that stalls is given up after `read_timeout_s`. The server is the I/O boundary: tests run a
real one on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from app.brains.base import Brain, BrainError, Message, is_cancelled, trim_history
from app.brains.persona import with_system_prompt
from app.brains.sse import SSEFormatError, iter_sse_data
from app.errors import UserError

log = logging.getLogger(__name__)

_MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True)
class OpenAICompatibleConfig:
    """How to reach an OpenAI-compatible server and what to ask it for."""

    kind: ClassVar[str] = "openai"

    base_url: str = "http://127.0.0.1:11434/v1"  # API root incl. "/v1"; default: local Ollama
    model: str = "qwen2.5:1.5b-instruct"  # model name as the server knows it
    api_key: str | None = None  # sent as "Authorization: Bearer <key>"; None for local servers
    temperature: float = 0.7  # sampling temperature; 0 = always the likeliest token
    max_tokens: int = 200  # upper bound on the reply length, in tokens
    connect_timeout_s: float = 5.0  # how long to wait for the connection to open
    read_timeout_s: float = 120.0  # longest silence between pieces (the first may load the model)
    max_history_messages: int = 20  # newest non-system messages sent along
    system_prompt: str | None = None  # used when the history has none; None = persona_prompt()

    def __post_init__(self) -> None:
        url = urlsplit(self.base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise UserError(
                f"Server URL {self.base_url!r} is not an http(s) address; use something like "
                "http://127.0.0.1:11434/v1"
            )
        if self.max_tokens < 1 or self.connect_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise UserError("max_tokens must be at least 1 and the timeouts above 0 seconds.")
        if not self.model.strip():
            raise UserError("No model name given for the chat server; set one (e.g. llama3.2).")


@dataclass(frozen=True)
class ConnectionStatus:
    """The result of `check_connection`, ready to show next to a "test connection" button."""

    ok: bool  # the server answered and offers the configured model
    message: str  # one or two human-readable sentences
    models: tuple[str, ...] = ()  # model names the server listed


def _server_message(body: bytes) -> str:
    """The error text in an error response: OpenAI, Ollama and FastAPI shapes, else raw text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300] or "(no details)"
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err:
            return str(err)[:300]
    return text[:300]


class OpenAICompatibleBrain(Brain):
    """Streams replies from an OpenAI-compatible chat-completions endpoint."""

    def __init__(self, config: OpenAICompatibleConfig | None = None) -> None:
        self.config = config or OpenAICompatibleConfig()
        self._url = urlsplit(self.config.base_url.rstrip("/"))
        self._conn: http.client.HTTPConnection | None = None  # the reply in flight's connection
        self._conn_lock = threading.Lock()

    # -- HTTP -------------------------------------------------------------------------------

    def _where(self) -> str:
        return self.config.base_url

    def _request(
        self, method: str, path: str, payload: dict[str, Any] | None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send one request; return the open connection and the response (any status)."""
        cfg = self.config
        cls = (
            http.client.HTTPSConnection
            if self._url.scheme == "https"
            else http.client.HTTPConnection
        )
        host = self._url.hostname
        assert host is not None  # OpenAICompatibleConfig accepts only URLs with a host
        conn = cls(host, self._url.port, timeout=cfg.connect_timeout_s)
        headers = {"Accept": "text/event-stream, application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if cfg.api_key:
            headers["Authorization"] = f"Bearer {cfg.api_key}"
        try:
            conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(cfg.read_timeout_s)
            conn.request(method, self._url.path + path, body=body, headers=headers)
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise self._connect_error(exc) from exc

    def _connect_error(self, exc: Exception) -> BrainError:
        where = self._where()
        if isinstance(exc, ConnectionRefusedError):
            return BrainError(
                f"Cannot reach the chat server at {where}: nothing is listening there. Start it "
                "(for Ollama: `ollama serve`) or correct the server URL."
            )
        if isinstance(exc, socket.gaierror):
            return BrainError(
                f"Cannot reach the chat server at {where}: unknown host name. Check the URL."
            )
        if isinstance(exc, TimeoutError):
            return BrainError(
                f"The chat server at {where} did not answer within the time limit. Check that it "
                "is running and not overloaded, or raise the timeout."
            )
        return BrainError(f"Cannot talk to the chat server at {where}: {exc}. Check the URL.")

    def _status_error(self, resp: http.client.HTTPResponse) -> BrainError:
        detail = _server_message(resp.read(_MAX_ERROR_BODY))
        hint = {
            401: "Check the API key.",
            403: "Check the API key and its permissions.",
            404: f"Check the model name ({self.config.model!r}) and that the URL ends in /v1.",
            429: "The server is rate-limiting; wait a moment and try again.",
        }.get(resp.status, "See the server's log for details." if resp.status >= 500 else "")
        return BrainError(
            f"The chat server at {self._where()} answered {resp.status} {resp.reason}: {detail}. {hint}".strip()
        )

    # -- Brain ------------------------------------------------------------------------------

    def messages_payload(self, history: Sequence[Message]) -> list[dict[str, str]]:
        """The `messages` list sent for `history` (system prompt added, old turns trimmed)."""
        msgs = with_system_prompt(history, self.config.system_prompt)
        msgs = trim_history(msgs, self.config.max_history_messages)
        return [{"role": m.role, "content": m.text} for m in msgs]

    def reply(
        self, history: Sequence[Message], *, cancel: threading.Event | None = None
    ) -> Iterator[str]:
        """Stream the reply. Raises BrainError if the server is unreachable, answers with an
        error, sends something else than a chat stream, or the stream breaks off (the pieces
        that arrived before are yielded first)."""
        cfg = self.config
        payload = {
            "model": cfg.model,
            "messages": self.messages_payload(history),
            "stream": True,
            "temperature": cfg.temperature,
            "max_tokens": cfg.max_tokens,
        }
        if is_cancelled(cancel):
            return
        conn, resp = self._request("POST", "/chat/completions", payload)
        with self._conn_lock:
            self._conn = conn
        try:
            if resp.status != 200:
                raise self._status_error(resp)
            ctype = resp.getheader("Content-Type", "")
            if "application/json" in ctype:  # the server ignored "stream": answer in one go
                yield self._whole_reply(resp)
                return
            yield from self._stream(resp, cancel)
        finally:
            with self._conn_lock:
                self._conn = None
            conn.close()

    def abort(self) -> None:
        """Shut the connection of the reply in flight: its reader returns at once."""
        with self._conn_lock:
            conn = self._conn
            sock = conn.sock if conn is not None else None
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:  # already closed
                    pass

    def close(self) -> None:
        self.abort()

    def _whole_reply(self, resp: http.client.HTTPResponse) -> str:
        try:
            data = json.loads(resp.read())
            return str(data["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BrainError(
                f"The chat server at {self._where()} sent a reply that is not a chat completion. "
                "Check that the URL points at an OpenAI-compatible API."
            ) from exc

    def _stream(
        self, resp: http.client.HTTPResponse, cancel: threading.Event | None
    ) -> Iterator[str]:
        delivered = 0
        finished = False
        try:
            for data in iter_sse_data(resp.readline):
                if is_cancelled(cancel):
                    log.debug("reply cancelled after %d characters", delivered)
                    return
                if data.strip() == "[DONE]":
                    return
                text, finish = self._parse_chunk(data)
                finished = finished or finish
                if text:
                    delivered += len(text)
                    yield text
                    if is_cancelled(cancel):
                        return
        except SSEFormatError as exc:
            raise self._malformed(str(exc)) from exc
        except TimeoutError as exc:
            if is_cancelled(cancel):
                return
            raise BrainError(
                f"The reply from the chat server at {self._where()} was cut off: it sent nothing "
                f"for {self.config.read_timeout_s:g} s after {delivered} characters. The words "
                "that arrived were kept; try again or raise the timeout."
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            if is_cancelled(cancel):
                return  # aborted: the connection was shut on purpose
            raise self._cut_off(
                delivered, f"the connection broke ({exc.__class__.__name__})"
            ) from exc
        if not finished and not is_cancelled(cancel):
            raise self._cut_off(delivered, "the stream ended before its end marker")

    def _cut_off(self, delivered: int, why: str) -> BrainError:
        return BrainError(
            f"The reply from the chat server at {self._where()} was cut off after {delivered} "
            f"characters: {why}. The words that arrived were kept; try again, and check the "
            "server's log if it keeps happening."
        )

    def _malformed(self, what: str) -> BrainError:
        return BrainError(
            f"The chat server at {self._where()} sent a malformed stream ({what}). Check that the "
            "URL points at an OpenAI-compatible API."
        )

    def _parse_chunk(self, data: str) -> tuple[str, bool]:
        """(text, finished) from one stream chunk's JSON; raise BrainError on errors."""
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise self._malformed(f"not JSON: {data[:80]!r}") from exc
        if not isinstance(chunk, dict):
            raise self._malformed(f"unexpected data: {data[:80]!r}")
        if chunk.get("error"):
            raise BrainError(
                f"The chat server at {self._where()} reported an error mid-reply: "
                f"{_server_message(json.dumps(chunk).encode())}"
            )
        choices = chunk.get("choices")
        if not choices:  # e.g. a final usage-only chunk
            return "", False
        if not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise self._malformed(f"unexpected choices: {data[:80]!r}")
        choice = choices[0]
        delta = choice.get("delta") or {}
        text = delta.get("content") if isinstance(delta, dict) else None
        return (text if isinstance(text, str) else ""), bool(choice.get("finish_reason"))

    # -- test connection --------------------------------------------------------------------

    def check_connection(self) -> ConnectionStatus:
        """Ask the server which models it has; say whether the configured one is among them."""
        model = self.config.model
        try:
            conn, resp = self._request("GET", "/models", None)
            try:
                if resp.status == 404:  # some servers lack /models: try a one-token request
                    return self._check_by_request()
                if resp.status != 200:
                    raise self._status_error(resp)
                data = json.loads(resp.read())
            finally:
                conn.close()
            models = tuple(str(m["id"]) for m in data.get("data", []) if isinstance(m, dict))
        except BrainError as exc:
            return ConnectionStatus(False, str(exc))
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            OSError,
            http.client.HTTPException,
        ):
            return ConnectionStatus(
                False,
                f"The server at {self._where()} answered, but not like an OpenAI-compatible API.",
            )
        names = {m for m in models} | {m.split(":")[0] for m in models if m.endswith(":latest")}
        if model in names:
            return ConnectionStatus(
                True, f"Connected to {self._where()}; model {model!r} is available.", models
            )
        offered = ", ".join(models[:8]) or "none"
        return ConnectionStatus(
            False,
            f"Connected to {self._where()}, but it has no model {model!r} (it offers: {offered}). "
            "Pick one of those, or install the model (for Ollama: `ollama pull NAME`).",
            models,
        )

    def _check_by_request(self) -> ConnectionStatus:
        payload = {
            "model": self.config.model,
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 1,
            "stream": False,
        }
        try:
            conn, resp = self._request("POST", "/chat/completions", payload)
            try:
                if resp.status != 200:
                    raise self._status_error(resp)
                resp.read()
            finally:
                conn.close()
        except BrainError as exc:
            return ConnectionStatus(False, str(exc))
        return ConnectionStatus(
            True, f"Connected to {self._where()}; model {self.config.model!r} answered."
        )
