"""A real OpenAI-compatible chat server on 127.0.0.1 for the brain tests.

It speaks HTTP through the standard library's http.server and streams server-sent events in
the format OpenAI, Ollama and llama.cpp use. The model name in a request picks what it does:
a good stream, a stream that breaks off, an error status, garbage, silence, and so on.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = ["Hello", " there", ", friend", "!", " How", " are", " you", "?"]
MODELS = ["good", "llama3.2:latest"]
MARKDOWN_REPLY = ["## Sure", "!\n\n", "Here are", " two **ideas", "**:\n", "1. Go for", " a walk 🚶",
                  "\n2. Read [a book](https://example.com/b", "ook)", "\n\n```python\nprint(",
                  "'hi')\n```\n", "And then we could", " talk about it"]


def _chunk(content: str | None = None, finish: str | None = None, role: bool = False) -> bytes:
    delta: dict = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "good",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ChatServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    # -- helpers ----------------------------------------------------------------------------

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self, chunked: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _send(self, data: bytes, chunked: bool = True) -> None:
        if chunked:
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.wfile.write(data)
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    # -- routes -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path == "/v1/models" and not self.server.no_models_route:
            self._json(
                200, {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]}
            )
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        self.server.requests.append(
            {"path": self.path, "headers": dict(self.headers), "body": body}
        )
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        model = body["model"]
        if not body.get("stream"):
            self._json(
                200,
                {
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": "".join(REPLY)}}
                    ]
                },
            )
            return
        getattr(self, "_model_" + model.replace("-", "_"), self._model_unknown)()

    def _model_unknown(self) -> None:
        model = self.server.requests[-1]["body"]["model"]
        self._json(404, {"error": f'model "{model}" not found, try pulling it first'})

    def _model_good(self) -> None:
        self._start_stream()
        self._send(_chunk("", role=True))
        self._send(b": keep-alive\n\n")
        for piece in REPLY:
            self._send(_chunk(piece))
        self._send(_chunk(finish="stop"))
        self._send(b'data: {"id": "chatcmpl-1", "choices": [], "usage": {"total_tokens": 9}}\n\n')
        self._send(b"data: [DONE]\n\n")
        self._end_stream()

    def _model_crlf_close(self) -> None:
        """No chunked encoding, CRLF line ends, the connection closes after [DONE]."""
        self._start_stream(chunked=False)
        for piece in REPLY:
            self._send(_chunk(piece).replace(b"\n", b"\r\n"), chunked=False)
        self._send(b"data: [DONE]\r\n\r\n", chunked=False)

    def _model_json(self) -> None:
        """Ignores "stream": true and answers with one JSON completion."""
        self._json(
            200,
            {
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "".join(REPLY)}}
                ]
            },
        )

    def _model_drop(self) -> None:
        """Chunked stream; the connection dies after three pieces."""
        self._start_stream()
        for piece in REPLY[:3]:
            self._send(_chunk(piece))
        self._drop()

    def _model_drop_close(self) -> None:
        """Connection-delimited stream that ends after three pieces without [DONE]."""
        self._start_stream(chunked=False)
        for piece in REPLY[:3]:
            self._send(_chunk(piece), chunked=False)
        self._drop()

    def _model_crash(self) -> None:
        self._json(500, {"error": {"message": "CUDA out of memory", "type": "server_error"}})

    def _model_malformed(self) -> None:
        self._start_stream()
        self._send(_chunk("Hello"))
        self._send(b"data: this is not json\n\n")
        self._end_stream()

    def _model_midstream_error(self) -> None:
        self._start_stream()
        self._send(_chunk("Hello"))
        self._send(b'data: {"error": {"message": "server overloaded"}}\n\n')
        self._end_stream()

    def _model_silent(self) -> None:
        """Sends the headers and one piece, then nothing until the test ends."""
        self._start_stream()
        self._send(_chunk("Hello"))
        self.server.stop.wait(30)

    def _model_slow_start(self) -> None:
        """The first piece comes after `first_delay` seconds (a model slow to start), then the
        reply streams as usual."""
        self._start_stream()
        self._send(_chunk("", role=True))
        if self.server.stop.wait(self.server.first_delay):
            return
        for piece in REPLY:
            self._send(_chunk(piece))
        self._send(_chunk(finish="stop"))
        self._send(b"data: [DONE]\n\n")
        self._end_stream()

    def _model_markdown(self) -> None:
        """What small models write: a heading, a list with bold and emoji, a code block, a link,
        and a last sentence cut off by the length limit (no final punctuation)."""
        self._start_stream()
        for piece in MARKDOWN_REPLY:
            self._send(_chunk(piece))
        self._send(_chunk(finish="length"))
        self._send(b"data: [DONE]\n\n")
        self._end_stream()

    def _model_only_code(self) -> None:
        """A reply with nothing to say aloud: a code block and emoji."""
        self._start_stream()
        for piece in ["```python\n", "print(1)\n", "```\n", " 🎉👍"]:
            self._send(_chunk(piece))
        self._send(_chunk(finish="stop"))
        self._send(b"data: [DONE]\n\n")
        self._end_stream()

    def _model_empty(self) -> None:
        """A reply with no text at all."""
        self._start_stream()
        self._send(_chunk("", role=True))
        self._send(_chunk(finish="stop"))
        self._send(b"data: [DONE]\n\n")
        self._end_stream()

    def _model_stall(self) -> None:
        """Sends five pieces (three whole words), then nothing until the test ends."""
        self._start_stream()
        for piece in REPLY[:5]:
            self._send(_chunk(piece))
        self.server.stop.wait(30)

    def _model_endless(self) -> None:
        """Streams numbered pieces until the client goes away; records that it went away."""
        self._start_stream()
        try:
            for i in range(2000):
                self._send(_chunk(f" w{i}"))
                time.sleep(0.005)
            self._send(b"data: [DONE]\n\n")
            self._end_stream()
        except OSError:
            self.server.disconnected.set()


class ChatServer(ThreadingHTTPServer):
    """The server, run on a free port of 127.0.0.1 in a daemon thread."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.stop = threading.Event()
        self.disconnected = threading.Event()
        self.no_models_route = False
        self.first_delay = 2.5  # seconds before the first piece of "slow-start"
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()
        self._thread.join(5)


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
