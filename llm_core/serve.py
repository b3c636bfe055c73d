"""An OpenAI-compatible HTTP endpoint for a forja chat checkpoint (`forja serve`).

    GET  /v1/models             the one model served: {"object": "list", "data": [{"id": ...}]}
    POST /v1/chat/completions   {"model", "messages": [{"role", "content"}], "max_tokens",
                                 "temperature", "top_p", "seed", "stream"}

A request is the conversation so far; the reply is generated like `forja chat` does it:
the messages in forja's chat template (llm_core.chat), the oldest dropped when they outgrow
the window (llm_core.conversation.fit_history), KV-cache sampling until <|end_of_turn|> or
max_tokens (llm_core.sample.stream), text decoded piece by piece (llm_core.textstream). With
"stream": true the pieces go out as server-sent events ("chat.completion.chunk" objects, then
"data: [DONE]"), as OpenAI's clients expect.

One model, one generation at a time (a lock: a CPU is not faster with two at once). What a
small model cannot honour is refused with a 400 rather than ignored: n > 1, stop sequences,
tools, logprobs, a response format. Limits (SERVE_LIMITS) bound a request's size so that one
caller cannot hold the machine; every refusal is an OpenAI-style error body
{"error": {"message", "type", "param", "code"}} with a 4xx status.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from .config import SampleConfig
from .conversation import ConversationError, fit_history
from .sample import stream
from .textstream import TextStream

__all__ = ["ServeError", "Limits", "SERVE_LIMITS", "create_app"]


class ServeError(Exception):
    """A request the server refuses: an HTTP status, a message naming the field, its param."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


@dataclass(frozen=True)
class Limits:
    body_bytes: int = 256 * 1024  # a request body larger than this is refused (413)
    messages: int = 64  # messages per request
    chars: int = 16_000  # characters over all messages
    new_tokens: int = 512  # max_tokens at most this (and at most the window less 8)


SERVE_LIMITS = Limits()
UNSUPPORTED = {"stop": "stop sequences", "tools": "tools", "tool_choice": "tools", "functions": "functions",
               "logprobs": "log probabilities", "response_format": "a response format"}


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # clients send fields we do not use (user, stream_options, ...)

    model: str
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=10.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None
    n: int = Field(default=1, ge=1)
    stream: bool = False


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status)


def _validation_message(err: RequestValidationError) -> tuple[str, str | None]:
    """Pydantic's first complaint as one sentence naming the field: "messages.0.role: ..."."""
    first = err.errors()[0] if err.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return (f"{where}: {first.get('msg', 'invalid value')}" if where else first.get("msg", "invalid JSON body")), where


class Server:
    """The served model and what a request needs: settings checked, generation under a lock."""

    def __init__(self, model, tokenizer, name: str, limits: Limits = SERVE_LIMITS):
        self.model, self.tok, self.name, self.limits = model.eval(), tokenizer, name, limits
        self.lock = threading.Lock()
        self.window = model.cfg.max_seq_len

    def check(self, req: ChatRequest) -> tuple[SampleConfig, Any]:
        """The sampling settings and the prompt fitted to the window, or a ServeError (before
        any reply is sent, so a streamed request is refused with a status too)."""
        extra = req.model_extra or {}
        for key, what in UNSUPPORTED.items():
            if extra.get(key) not in (None, [], False):
                raise ServeError(400, f"{key}: {what} are not supported by forja serve", key, "unsupported")
        if req.n != 1:
            raise ServeError(400, "n: forja serve makes one reply per request (n must be 1)", "n", "unsupported")
        if req.model != self.name:
            raise ServeError(404, f"model {req.model!r} is not served here; this server has {self.name!r}", "model",
                             "model_not_found")
        if len(req.messages) > self.limits.messages:
            raise ServeError(400, f"messages: at most {self.limits.messages} per request, got {len(req.messages)}",
                             "messages")
        chars = sum(len(m.content) for m in req.messages)
        if chars > self.limits.chars:
            raise ServeError(400, f"messages: at most {self.limits.chars:,} characters in all, got {chars:,}",
                             "messages")
        most = min(self.limits.new_tokens, self.window - 8)
        wanted = req.max_completion_tokens or req.max_tokens or min(128, self.window // 2)
        if wanted > most:
            param = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
            raise ServeError(400, f"{param}: at most {most} for this model's {self.window}-token window, got {wanted}",
                             param)
        cfg = SampleConfig(max_new_tokens=wanted, temperature=req.temperature, top_p=req.top_p, seed=req.seed,
                           top_candidates=0)
        try:
            fit = fit_history(self.tok, [m.model_dump() for m in req.messages], self.window, wanted)
        except (ConversationError, ValueError, TypeError) as err:
            raise ServeError(400, f"messages: {err}", "messages") from None
        return cfg, fit

    def pieces(self, cfg: SampleConfig, fit) -> Iterator[tuple[str, dict]]:
        """The reply's text pieces as they are made, then ("", {finish_reason, usage})."""
        text, made, finish = TextStream(self.tok, reply=True), 0, "length"
        with self.lock:
            for step in stream(self.model, fit.ids, cfg, stop_ids=[self.tok.end_of_turn_id, self.tok.eos_id]):
                if step.is_stop:
                    finish = "stop"
                    break
                made += 1
                piece = text.push(step.token_id)
                if piece:
                    yield piece, {}
        tail = text.flush()
        if tail:
            yield tail, {}
        yield "", {"finish_reason": finish, "usage": {"prompt_tokens": fit.used, "completion_tokens": made,
                                                       "total_tokens": fit.used + made}}


def _completion(server: Server, cfg: SampleConfig, fit) -> dict[str, Any]:
    parts, end = [], {}
    for piece, info in server.pieces(cfg, fit):
        parts.append(piece)
        end = info or end
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": server.name, "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(parts)},
                                               "finish_reason": end["finish_reason"]}], "usage": end["usage"]}


def _events(server: Server, cfg: SampleConfig, fit) -> Iterator[str]:
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": server.name}

    def event(delta: dict, finish: str | None = None, **more) -> str:
        return "data: " + json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                                      **more}, ensure_ascii=False) + "\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece, info in server.pieces(cfg, fit):
        if info:
            yield event({}, info["finish_reason"], usage=info["usage"])
        else:
            yield event({"content": piece})
    yield "data: [DONE]\n\n"


def create_app(model, tokenizer, name: str, limits: Limits = SERVE_LIMITS) -> FastAPI:
    """The FastAPI app serving `model` under the id `name`."""
    server = Server(model, tokenizer, name, limits)
    app = FastAPI(title="forja serve", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def body_limit(request: Request, call_next):
        size = request.headers.get("content-length")
        if size and size.isdigit() and int(size) > limits.body_bytes:
            return _error(413, f"the request body is {int(size):,} bytes; at most {limits.body_bytes:,} are accepted")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError):
        message, param = _validation_message(err)
        return _error(400, message, param or None)

    @app.exception_handler(ServeError)
    async def refused(request: Request, err: ServeError):
        return _error(err.status, err.message, err.param, err.code)

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "forja"}]}

    @app.post("/v1/chat/completions")
    def chat_completions(req: ChatRequest):
        cfg, fit = server.check(req)
        if req.stream:
            return StreamingResponse(_events(server, cfg, fit), media_type="text/event-stream")
        return _completion(server, cfg, fit)

    return app
