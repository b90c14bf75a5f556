#!/usr/bin/env python3
"""Scripted model server for OpsCopilot tests (Python 3 standard library only).

One port speaks both wire protocols:

  OpenAI Chat Completions  POST /v1/chat/completions
                           POST /chat/completions
                           POST /openai/deployments/<name>/chat/completions?api-version=...  (Azure)
  Anthropic Messages       POST /v1/messages

Each model request consumes the next turn of a SCRIPT (see README.md):

  {"turns": [turn, ...], "default": turn, "rules": [turn, ...]}

  turn = {"content": "text",
          "tool_calls": [{"name": "get_pods", "arguments": {...} | "raw string", "id": "optional"}],
          "usage": {"prompt_tokens": N, "completion_tokens": M},      # optional override
          "match": {"tool_result_contains": "..."},                    # optional precondition
          "fault": "status" | "slow" | "malformed" | "cut",            # optional
          "status": 429, "retry_after": "2", "headers": {...}, "body": {...} | "text",
          "delay_ms": 5000, "repeat": N, ...}

Control endpoints: POST /_script (replace the script, rewind), GET /_script,
GET /_requests (everything recorded, keys redacted), POST /_reset (clear the
record and rewind the script), GET /_health.

TOKEN COUNTING RULE (fixed, so tests can predict costs)
-------------------------------------------------------
  tokens(chars)     = max(1, ceil(chars / 4))
  prompt_tokens     = tokens(P), where P is the sum of
      * the characters of every text in the request: message contents (a
        string, or the "text" of each text part/block), the Anthropic top-level
        "system" (string or text blocks) and the text of Anthropic
        "tool_result" blocks (string or text blocks);
      * for every tool call already in the request: the characters of its
        arguments -- an OpenAI assistant message's tool_calls[].function.arguments
        string as sent (or compact JSON if not a string); an Anthropic
        "tool_use" block's "input" as compact JSON;
      * for every element of the request's "tools" array: its compact JSON.
    Roles, names, ids, images and all other fields count 0.
  completion_tokens = tokens(C), where C = characters of the reply text
      + characters of each scripted tool call's arguments string.
  A scripted tool call's arguments string is the raw string when the script
  gives a string, else the compact JSON of the value.
  "Compact JSON" = json.dumps(v, separators=(",", ":"), ensure_ascii=False);
  characters are Unicode code points (= bytes for ASCII).
  A turn's "usage" overrides either number.
Python callers: prompt_tokens(body), completion_tokens(turn), usage_for(body, turn).

Run:  python3 scripted_llm.py --port 0 [--script s.json] [--port-file F]
Prints "LISTENING <port>" once ready; stops cleanly on SIGTERM/SIGINT.
"""

import argparse
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

NO_MORE_TURNS = "no more scripted turns"
REDACTED = "[REDACTED]"
EMPTY = "[EMPTY]"
SECRET_HEADERS = ("authorization", "proxy-authorization", "api-key", "x-api-key")
SECRET_QUERY = ("key", "api-key", "api_key", "apikey", "access_token")
FAULTS = (None, "status", "slow", "malformed", "cut")
TURN_KEYS = {
    "content", "tool_calls", "usage", "match", "fault", "status", "retry_after",
    "headers", "body", "content_type", "delay_ms", "chunk_delay_ms", "chunk_size",
    "chunks", "repeat", "finish_reason", "stop_reason", "split_events", "model",
}
MATCH_KEYS = {"tool_result_contains", "message_contains"}
MAX_BODY = 64 * 1024 * 1024
AZURE_PATH = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")


# ---- counting rule ---------------------------------------------------------------


def compact_json(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def tokens(chars):
    """max(1, ceil(chars / 4))."""
    chars = int(chars)
    return max(1, (chars + 3) // 4)


def _args_chars(value):
    return len(value) if isinstance(value, str) else len(compact_json(value))


def _text_chars(content):
    """Characters of text in an OpenAI/Anthropic content value (string, part, list of parts)."""
    if content is None:
        return 0
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(_text_chars(part) for part in content)
    if isinstance(content, dict):
        kind = content.get("type")
        if kind == "tool_result":
            return _text_chars(content.get("content"))
        if kind == "tool_use":
            return _args_chars(content.get("input", {}))
        text = content.get("text")
        if isinstance(text, str) and kind in (None, "text", "input_text", "output_text"):
            return len(text)
    return 0


def prompt_chars(body):
    """P of the counting rule for a parsed request body (either protocol)."""
    if not isinstance(body, dict):
        return 0
    total = _text_chars(body.get("system"))
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if not isinstance(message, dict):
                continue
            total += _text_chars(message.get("content"))
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                for call in calls:
                    fn = call.get("function") if isinstance(call, dict) else None
                    if isinstance(fn, dict) and "arguments" in fn:
                        total += _args_chars(fn["arguments"])
            fc = message.get("function_call")
            if isinstance(fc, dict) and "arguments" in fc:
                total += _args_chars(fc["arguments"])
    tools = body.get("tools")
    if isinstance(tools, list):
        total += sum(len(compact_json(tool)) for tool in tools)
    return total


def prompt_tokens(body):
    return tokens(prompt_chars(body))


def tool_call_arguments(call):
    """The arguments string a scripted tool call sends (raw string or compact JSON)."""
    args = call.get("arguments", {}) if isinstance(call, dict) else {}
    return args if isinstance(args, str) else compact_json(args)


def completion_chars(turn):
    """C of the counting rule for a scripted turn."""
    if not isinstance(turn, dict):
        return 0
    total = len(turn.get("content") or "")
    for call in turn.get("tool_calls") or []:
        total += len(tool_call_arguments(call))
    return total


def completion_tokens(turn):
    return tokens(completion_chars(turn))


def usage_for(body, turn):
    """(prompt_tokens, completion_tokens) the server reports, overrides applied."""
    prompt, completion = prompt_tokens(body), completion_tokens(turn)
    override = turn.get("usage") if isinstance(turn, dict) else None
    if isinstance(override, dict):
        prompt = int(override.get("prompt_tokens", override.get("input_tokens", prompt)))
        completion = int(override.get("completion_tokens", override.get("output_tokens", completion)))
    return prompt, completion


# ---- script ------------------------------------------------------------------------


class ScriptError(ValueError):
    pass


def _check_strings(value, where):
    if isinstance(value, str):
        return
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return
    raise ScriptError(f"{where} must be a string or a list of strings")


def validate_turn(turn, where):
    if not isinstance(turn, dict):
        raise ScriptError(f"{where} must be an object")
    for key in turn:
        if key not in TURN_KEYS and not key.startswith("_") and not key.startswith("comment"):
            raise ScriptError(f"{where}: unknown key {key!r}")
    if "content" in turn and turn["content"] is not None and not isinstance(turn["content"], str):
        raise ScriptError(f"{where}.content must be a string")
    calls = turn.get("tool_calls", [])
    if not isinstance(calls, list):
        raise ScriptError(f"{where}.tool_calls must be a list")
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise ScriptError(f"{where}.tool_calls[{i}] needs a string name")
        if "id" in call and not isinstance(call["id"], str):
            raise ScriptError(f"{where}.tool_calls[{i}].id must be a string")
    if turn.get("fault") not in FAULTS:
        raise ScriptError(f"{where}.fault must be one of status, slow, malformed, cut")
    if turn.get("fault") == "status":
        status = turn.get("status", 500)
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
            raise ScriptError(f"{where}.status must be an HTTP status 200..599")
    for key in ("repeat", "chunk_size", "chunks"):
        if key in turn:
            v = turn[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if key == "chunks" else 1):
                raise ScriptError(f"{where}.{key} must be a positive integer")
    for key in ("delay_ms", "chunk_delay_ms"):
        if key in turn:
            v = turn[key]
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise ScriptError(f"{where}.{key} must be a number >= 0")
    if "usage" in turn:
        usage = turn["usage"]
        if not isinstance(usage, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in usage.values()):
            raise ScriptError(f"{where}.usage must map names to integers")
    if "headers" in turn:
        if not isinstance(turn["headers"], dict):
            raise ScriptError(f"{where}.headers must be an object")
    if "match" in turn:
        match = turn["match"]
        if not isinstance(match, dict):
            raise ScriptError(f"{where}.match must be an object")
        for key, value in match.items():
            if key not in MATCH_KEYS:
                raise ScriptError(f"{where}.match: unknown key {key!r}")
            _check_strings(value, f"{where}.match.{key}")


def validate_script(data):
    """Normalizes and checks a script; raises ScriptError."""
    if isinstance(data, list):
        data = {"turns": data}
    if not isinstance(data, dict):
        raise ScriptError("script must be an object {\"turns\": [...], \"default\": {...}}")
    for key in data:
        if key not in ("turns", "default", "rules") and not key.startswith("_") and not key.startswith("comment"):
            raise ScriptError(f"script: unknown key {key!r}")
    turns = data.get("turns", [])
    if not isinstance(turns, list):
        raise ScriptError("script.turns must be a list")
    for i, turn in enumerate(turns):
        validate_turn(turn, f"turns[{i}]")
    default = data.get("default")
    if default is not None:
        validate_turn(default, "default")
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise ScriptError("script.rules must be a list")
    for i, rule in enumerate(rules):
        validate_turn(rule, f"rules[{i}]")
        if "repeat" in rule:
            raise ScriptError(f"rules[{i}]: a rule is never consumed, so it takes no repeat")
    return {"turns": turns, "default": default, "rules": rules}


def _texts(body):
    """(all message texts, tool result texts) of a request, for match."""
    texts, results = [], []

    def flatten(content):
        if isinstance(content, str):
            return [content]
        if isinstance(content, list):
            return [t for part in content for t in flatten(part)]
        if isinstance(content, dict):
            if content.get("type") == "tool_result":
                inner = flatten(content.get("content"))
                results.extend(inner)
                return inner
            if isinstance(content.get("text"), str):
                return [content["text"]]
        return []

    texts.extend(flatten(body.get("system")))
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        found = flatten(message.get("content"))
        texts.extend(found)
        if message.get("role") in ("tool", "function"):
            results.extend(found)
    return texts, results


def match_problem(match, body):
    """None when the request satisfies the turn's match, else a sentence."""
    if not match:
        return None
    texts, results = _texts(body)
    for key, pool in (("tool_result_contains", results), ("message_contains", texts)):
        wanted = match.get(key)
        if wanted is None:
            continue
        for needle in [wanted] if isinstance(wanted, str) else wanted:
            if not any(needle in text for text in pool):
                return f"{key}: no {'tool result' if pool is results else 'message'} contains {needle!r}"
    return None


class ScriptState:
    """The script and the position in it. Not locked itself; the server locks."""

    def __init__(self, script=None):
        self.script = validate_script(script if script is not None else {"turns": []})
        self.position = 0
        self.used = 0

    def rewind(self):
        self.position = 0
        self.used = 0

    def next_turn(self, body):
        """(turn, label, mismatch). label: index, "rule N", "default" or None.
        Rules come first: the first whose match the request satisfies answers
        it and stays (many concurrent conversations, one script)."""
        for i, rule in enumerate(self.script["rules"]):
            if match_problem(rule.get("match"), body) is None:
                return rule, f"rule {i}", None
        turns = self.script["turns"]
        if self.position < len(turns):
            turn, label = turns[self.position], self.position
        elif self.script["default"] is not None:
            turn, label = self.script["default"], "default"
        else:
            return {"content": NO_MORE_TURNS}, None, None
        problem = match_problem(turn.get("match"), body)
        if problem:
            return turn, label, f"turn {label}: {problem}"
        if label != "default":  # (rules returned above)
            self.used += 1
            if self.used >= turn.get("repeat", 1):
                self.position += 1
                self.used = 0
        return turn, label, None

    def describe(self):
        return {"script": self.script, "position": self.position, "used": self.used,
                "remaining": max(0, len(self.script["turns"]) - self.position)}


# ---- redaction ------------------------------------------------------------------------


def redact_value(name, value):
    if value is None or value.strip() == "":
        return EMPTY
    if name in ("authorization", "proxy-authorization"):
        parts = value.strip().split(None, 1)
        if len(parts) == 2:
            return f"{parts[0]} {REDACTED}"
    return REDACTED


def redact_query(query):
    pairs = parse_qsl(query, keep_blank_values=True)
    return [(k, redact_value(k, v) if k.lower() in SECRET_QUERY else v) for k, v in pairs]


# ---- HTTP ------------------------------------------------------------------------------


def _anthropic_error_type(status):
    return {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 409: "invalid_request_error", 413: "request_too_large",
            429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")


def _openai_error_type(status):
    if status == 429:
        return "rate_limit_exceeded"
    if status >= 500:
        return "server_error"
    if status in (401, 403):
        return "authentication_error"
    return "invalid_request_error"


def error_body(protocol, status, message):
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": _anthropic_error_type(status), "message": message}}
    return {"error": {"message": message, "type": _openai_error_type(status), "param": None,
                      "code": str(status)}}


def _pieces(text, size):
    return [text[i:i + size] for i in range(0, len(text), size)] if text else []


class ClientGone(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ScriptedLLM/1.0"
    timeout = 300  # idle keep-alive connections

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("scripted_llm: %s - %s\n" % (self.address_string(), fmt % args))

    # Every method goes through one dispatcher that never lets an exception out.
    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self):
        self._sent = False
        self._chunked = False
        try:
            self._route()
        except (BrokenPipeError, ConnectionResetError, ClientGone, socket.timeout):
            self.close_connection = True
        except Exception as exc:  # never crash on bad input
            self.close_connection = True
            if not self._sent:
                try:
                    self._json(500, error_body(None, 500, f"scripted_llm internal error: {exc!r}"))
                except Exception:
                    pass

    # ---- plumbing

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ValueError("truncated chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline(65537)
                if len(data) > MAX_BODY:
                    raise ValueError("body too large")
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        n = int(length)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        data = self.rfile.read(n)
        if len(data) != n:
            raise ValueError("truncated body")
        return data

    def _start(self, status, content_type, length=None, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(str(name), str(value))
        if length is not None:
            self.send_header("Content-Length", str(length))
        elif self.request_version >= "HTTP/1.1":
            self.send_header("Transfer-Encoding", "chunked")
            self._chunked = True
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self._sent = True
        self.server.note_status(self, status)

    def _raw(self, status, data, content_type="application/json", headers=None):
        self._start(status, content_type, len(data), headers)
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _json(self, status, obj, headers=None):
        self._raw(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), headers=headers)

    def _write(self, data):
        if self._chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.wfile.write(data)
        self.wfile.flush()

    def _finish_stream(self):
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    # ---- routing

    def _route(self):
        url = urlsplit(self.path)
        path = url.path
        if path.startswith("/_"):
            return self._control(path, url.query)
        protocol, deployment = None, None
        if path in ("/v1/chat/completions", "/chat/completions"):
            protocol = "openai"
        elif AZURE_PATH.match(path):
            protocol, deployment = "openai", AZURE_PATH.match(path).group(1)
        elif path == "/v1/messages":
            protocol = "anthropic"
        record = self.server.record(self, url, protocol)
        try:
            raw = self._read_body()
        except (ValueError, OverflowError) as exc:
            record["body_error"] = str(exc)
            self.close_connection = True
            return self._json(400, error_body(protocol, 400, f"bad request body: {exc}"))
        body, problem = None, None
        if raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                problem = f"invalid JSON body: {exc}"
                record["body_text"] = raw[:4096].decode("utf-8", "replace")
        record["body"] = body
        if path == "/v1/models" and self.command == "GET":
            return self._json(200, {"object": "list", "data": [
                {"id": "scripted", "object": "model", "owned_by": "scripted_llm"}]})
        if protocol is None:
            return self._json(404, error_body(None, 404, f"no such endpoint: {self.command} {path}"))
        if self.command != "POST":
            return self._json(405, error_body(protocol, 405, "use POST"))
        if problem is None:
            if not raw:
                problem = "empty body"
            elif not isinstance(body, dict):
                problem = "body must be a JSON object"
            elif not isinstance(body.get("messages"), list):
                problem = "messages must be a list"
        if problem:
            record["body_error"] = problem
            return self._json(400, error_body(protocol, 400, problem))
        stream = body.get("stream") is True
        record["stream"] = stream
        turn, label, mismatch = self.server.next_turn(body)
        record["turn"] = label
        record["fault"] = turn.get("fault")
        if mismatch:
            record["mismatch"] = mismatch
            return self._json(409, error_body(protocol, 409, "scripted_llm: " + mismatch))
        model = turn.get("model") or body.get("model") or deployment or "scripted"
        self._answer(protocol, body, turn, record["seq"], str(model), stream)

    def _control(self, path, query):
        server = self.server
        try:
            raw = self._read_body()
        except (ValueError, OverflowError) as exc:
            self.close_connection = True
            return self._json(400, {"error": f"bad request body: {exc}"})
        if path == "/_health":
            return self._json(200, {"ok": True})
        if path == "/_requests" and self.command == "GET":
            return self._json(200, {"requests": server.requests()})
        if path == "/_reset" and self.command == "POST":
            server.reset()
            return self._json(200, {"ok": True})
        if path == "/_script" and self.command == "GET":
            return self._json(200, server.script_info())
        if path == "/_script" and self.command in ("POST", "PUT"):
            try:
                data = json.loads(raw.decode("utf-8"))
                server.set_script(data)
            except (ValueError, UnicodeDecodeError) as exc:  # ScriptError is a ValueError
                return self._json(400, {"error": f"bad script: {exc}"})
            return self._json(200, {"ok": True, "turns": len(server.script_info()["script"]["turns"])})
        return self._json(404, {"error": f"no such control endpoint: {self.command} {path}"})

    # ---- answers

    def _answer(self, protocol, body, turn, seq, model, stream):
        fault = turn.get("fault")
        delay = turn.get("delay_ms", 0)
        if delay:
            time.sleep(delay / 1000.0)
        if fault == "status":
            return self._status_fault(protocol, turn)
        usage = usage_for(body, turn)
        if fault == "malformed":
            return self._malformed(protocol, turn, stream)
        if stream:
            include_usage = isinstance(body.get("stream_options"), dict) and \
                body["stream_options"].get("include_usage") is True
            if protocol == "openai":
                events = self._openai_events(turn, seq, model, usage, include_usage)
            else:
                events = self._anthropic_events(turn, seq, model, usage)
            return self._stream(events, turn, cut=(fault == "cut"))
        if protocol == "openai":
            reply = self._openai_message(turn, seq, model, usage)
        else:
            reply = self._anthropic_message(turn, seq, model, usage)
        data = json.dumps(reply, ensure_ascii=False).encode("utf-8")
        if fault == "cut":
            self._start(200, "application/json", len(data))
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._raw(200, data)

    def _status_fault(self, protocol, turn):
        status = turn.get("status", 500)
        headers = dict(turn.get("headers") or {})
        if turn.get("retry_after") is not None:
            headers["Retry-After"] = turn["retry_after"]
        body = turn.get("body")
        if body is None:
            body = error_body(protocol, status, f"scripted fault: HTTP {status}")
        if isinstance(body, str):
            data = body.encode("utf-8")
            content_type = turn.get("content_type", "text/plain; charset=utf-8")
        else:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            content_type = turn.get("content_type", "application/json")
        self._raw(status, data, content_type, headers)

    def _malformed(self, protocol, turn, stream):
        payload = turn.get("body")
        if not isinstance(payload, str):
            payload = '{"id": "malformed", "choices": [{"message": {"content": "unterminated'
        if not stream:
            return self._raw(200, payload.encode("utf-8"), turn.get("content_type", "application/json"))
        self._start(200, "text/event-stream", headers={"Cache-Control": "no-cache"})
        if protocol == "openai":
            self._write(("data: %s\n\n" % payload.replace("\n", " ")).encode("utf-8"))
            self._write(b"data: [DONE]\n\n")
        else:
            self._write(("event: message_start\ndata: %s\n\n" % payload.replace("\n", " ")).encode("utf-8"))
            self._write(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
        self._finish_stream()

    def _stream(self, events, turn, cut):
        """events: list of (bytes, is_delta). Writes them as SSE; cut stops early."""
        count = len(events)
        if cut:
            count = turn.get("chunks")
            if count is None:  # up to and including the first content delta
                count = next((i + 1 for i, (_, d) in enumerate(events) if d), 2)
            count = min(count, len(events) - 1)
        self._start(200, "text/event-stream", headers={"Cache-Control": "no-cache"})
        pause = turn.get("chunk_delay_ms", 0) / 1000.0
        split = turn.get("split_events") is True
        for i, (data, _) in enumerate(events[:count]):
            if pause and i:
                time.sleep(pause)
            if split and len(data) > 2:
                self._write(data[:len(data) // 2])
                time.sleep(0.005)
                self._write(data[len(data) // 2:])
            else:
                self._write(data)
        if cut:
            self.close_connection = True  # no [DONE] / message_stop, no final chunk
            return
        self._finish_stream()

    def _calls(self, turn, seq, prefix):
        calls = []
        for i, call in enumerate(turn.get("tool_calls") or []):
            calls.append({"id": call.get("id") or f"{prefix}{seq}_{i}", "name": call["name"],
                          "arguments": tool_call_arguments(call), "value": call.get("arguments", {})})
        return calls

    def _openai_finish(self, turn, calls):
        return turn.get("finish_reason") or ("tool_calls" if calls else "stop")

    def _openai_message(self, turn, seq, model, usage):
        calls = self._calls(turn, seq, "call_")
        content = turn.get("content") or ""
        message = {"role": "assistant", "content": content if (content or not calls) else None}
        if calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in calls]
        return {"id": f"chatcmpl-scripted-{seq}", "object": "chat.completion", "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": self._openai_finish(turn, calls),
                             "logprobs": None}],
                "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                          "total_tokens": usage[0] + usage[1]}}

    def _openai_events(self, turn, seq, model, usage, include_usage):
        size = turn.get("chunk_size", self.server.chunk_size)
        calls = self._calls(turn, seq, "call_")
        created = int(time.time())
        events = []

        def chunk(delta, finish=None, is_delta=False):
            obj = {"id": f"chatcmpl-scripted-{seq}", "object": "chat.completion.chunk", "created": created,
                   "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            if include_usage:
                obj["usage"] = None
            events.append((b"data: " + json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n\n", is_delta))

        chunk({"role": "assistant", "content": ""})
        for piece in _pieces(turn.get("content") or "", size):
            chunk({"content": piece}, is_delta=True)
        for i, c in enumerate(calls):
            chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                   "function": {"name": c["name"], "arguments": ""}}]}, is_delta=True)
            for piece in _pieces(c["arguments"], size):
                chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}, is_delta=True)
        chunk({}, finish=self._openai_finish(turn, calls))
        if include_usage:
            obj = {"id": f"chatcmpl-scripted-{seq}", "object": "chat.completion.chunk", "created": created,
                   "model": model, "choices": [],
                   "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                             "total_tokens": usage[0] + usage[1]}}
            events.append((b"data: " + json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n\n", False))
        events.append((b"data: [DONE]\n\n", False))
        return events

    def _anthropic_input(self, call):
        value = call["value"]
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value  # invalid arguments stay a (non-object) string

    def _anthropic_message(self, turn, seq, model, usage):
        calls = self._calls(turn, seq, "toolu_")
        content = turn.get("content") or ""
        blocks = []
        if content or not calls:
            blocks.append({"type": "text", "text": content})
        for c in calls:
            blocks.append({"type": "tool_use", "id": c["id"], "name": c["name"], "input": self._anthropic_input(c)})
        return {"id": f"msg_scripted_{seq}", "type": "message", "role": "assistant", "model": model,
                "content": blocks, "stop_reason": turn.get("stop_reason") or ("tool_use" if calls else "end_turn"),
                "stop_sequence": None, "usage": {"input_tokens": usage[0], "output_tokens": usage[1]}}

    def _anthropic_events(self, turn, seq, model, usage):
        size = turn.get("chunk_size", self.server.chunk_size)
        calls = self._calls(turn, seq, "toolu_")
        events = []

        def event(name, obj, is_delta=False):
            data = json.dumps(obj, ensure_ascii=False)
            events.append((f"event: {name}\ndata: {data}\n\n".encode("utf-8"), is_delta))

        event("message_start", {"type": "message_start", "message": {
            "id": f"msg_scripted_{seq}", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": usage[0], "output_tokens": 0}}})
        event("ping", {"type": "ping"})
        index = 0
        content = turn.get("content") or ""
        if content or not calls:
            event("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "text", "text": ""}})
            for piece in _pieces(content, size):
                event("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "text_delta", "text": piece}}, True)
            event("content_block_stop", {"type": "content_block_stop", "index": index})
            index += 1
        for c in calls:
            event("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "tool_use", "id": c["id"], "name": c["name"],
                                                            "input": {}}})
            for piece in _pieces(c["arguments"], size):
                event("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "input_json_delta", "partial_json": piece}}, True)
            event("content_block_stop", {"type": "content_block_stop", "index": index})
            index += 1
        event("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": turn.get("stop_reason") or
                                          ("tool_use" if calls else "end_turn"), "stop_sequence": None},
                                "usage": {"output_tokens": usage[1]}})
        event("message_stop", {"type": "message_stop"})
        return events


class ScriptedLLMServer(ThreadingHTTPServer):
    """The server. Thread-safe script and record; usable from Python directly."""

    daemon_threads = True
    allow_reuse_address = True
    # Benchmarks open a hundred connections at once; the default backlog of 5
    # would refuse some.
    request_queue_size = 256

    def __init__(self, host="127.0.0.1", port=0, script=None, chunk_size=8, verbose=False):
        self.lock = threading.Lock()
        self.state = ScriptState(script)
        self.records = []
        self.seq = 0
        self.chunk_size = max(1, int(chunk_size))
        self.verbose = verbose
        self._records_by_handler = {}
        super().__init__((host, port), Handler)

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        return f"http://{self.server_address[0]}:{self.port}"

    # ---- state, all under the lock

    def record(self, handler, url, protocol):
        headers, auth = {}, {}
        for name, value in handler.headers.items():
            key = name.lower()
            if key in SECRET_HEADERS:
                value = redact_value(key, value)
            headers[key] = value if key not in headers else headers[key] + ", " + value
        for key in SECRET_HEADERS:
            auth[key] = key in headers
        query = redact_query(url.query)
        with self.lock:
            self.seq += 1
            rec = {"seq": self.seq, "time": time.time(), "method": handler.command,
                   "path": url.path + ("?" + urlencode(query) if query else ""),
                   "query": dict(query), "headers": headers, "auth": auth, "protocol": protocol,
                   "body": None, "stream": False, "turn": None, "fault": None, "status": None}
            self.records.append(rec)
            self._records_by_handler[id(handler)] = rec
            return rec

    def note_status(self, handler, status):
        with self.lock:
            rec = self._records_by_handler.pop(id(handler), None)
            if rec is not None:
                rec["status"] = status

    def next_turn(self, body):
        with self.lock:
            return self.state.next_turn(body)

    def requests(self):
        with self.lock:
            return json.loads(json.dumps(self.records))  # a deep copy

    def reset(self):
        """Clears the record and rewinds the script (the script itself stays)."""
        with self.lock:
            self.records = []
            self._records_by_handler = {}
            self.state.rewind()

    def set_script(self, script):
        """Replaces the script and rewinds; raises ScriptError when invalid."""
        state = ScriptState(script)
        with self.lock:
            self.state = state

    def script_info(self):
        with self.lock:
            return json.loads(json.dumps(self.state.describe()))

    # ---- lifecycle for Python callers

    def start(self):
        """Serves in a background thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()


def start_server(script=None, port=0, **kwargs):
    """Starts a server on 127.0.0.1 in a background thread. Call .stop() when done."""
    return ScriptedLLMServer(port=port, script=script, **kwargs).start()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Scripted OpenAI/Anthropic model server for tests.")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--script", help="JSON script file to load at start")
    parser.add_argument("--port-file", help="also write the bound port to this file")
    parser.add_argument("--chunk-size", type=int, default=8, help="characters per streamed piece (default 8)")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)

    script = None
    if args.script:
        try:
            with open(args.script, encoding="utf-8") as f:
                script = validate_script(json.load(f))
        except (OSError, ValueError) as exc:
            print(f"scripted_llm: cannot load script {args.script}: {exc}", file=sys.stderr)
            return 2
    try:
        server = ScriptedLLMServer(args.host, args.port, script, args.chunk_size, args.verbose)
    except OSError as exc:
        print(f"scripted_llm: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{server.port}\n")
        os.replace(tmp, args.port_file)
    try:
        print(f"LISTENING {server.port}", flush=True)
    except (BrokenPipeError, OSError):
        pass
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
