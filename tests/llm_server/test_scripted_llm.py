#!/usr/bin/env python3
"""Self-test of scripted_llm.py (standard library only).

Run from the repo root:
  python3 -m unittest tests/llm_server/test_scripted_llm.py
  python3 tests/llm_server/test_scripted_llm.py
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scripted_llm  # noqa: E402

SERVER = os.path.join(HERE, "scripted_llm.py")
SECRET = "sk-test-SECRET-0123456789"

TOOLS_OPENAI = [{"type": "function", "function": {
    "name": "get_pods", "description": "List pods",
    "parameters": {"type": "object", "properties": {"namespace": {"type": "string"}}}}}]
TOOLS_ANTHROPIC = [{"name": "get_pods", "description": "List pods",
                    "input_schema": {"type": "object", "properties": {"namespace": {"type": "string"}}}}]


def start_subprocess(*extra):
    proc = subprocess.Popen([sys.executable, SERVER, "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("LISTENING "):
        proc.kill()
        raise RuntimeError("server did not start: %r %r" % (line, proc.stderr.read()))
    return proc, int(line.split()[1])


def stop_subprocess(proc, sig=signal.SIGTERM):
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return rc


class Base(unittest.TestCase):
    port = None

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def call(self, path, body=None, headers=None, method=None, timeout=10, raw=None):
        """(status, headers, bytes); never raises on HTTP errors."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.url(path), data=data, method=method or ("POST" if data is not None else "GET"))
        req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.headers, err.read()

    def jcall(self, path, body=None, **kw):
        status, headers, data = self.call(path, body, **kw)
        return status, headers, json.loads(data)

    def script(self, script):
        status, _, out = self.jcall("/_script", script)
        self.assertEqual(status, 200, out)
        status, _, _ = self.jcall("/_reset", {})
        self.assertEqual(status, 200)

    def requests(self):
        return self.jcall("/_requests")[2]["requests"]

    def openai(self, content="Hi", stream=False, path="/v1/chat/completions", extra=None, headers=None):
        body = {"model": "gpt-test", "messages": [{"role": "system", "content": "You are terse."},
                                                  {"role": "user", "content": content}]}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        body.update(extra or {})
        return body, self.call(path, body, headers=headers or {"Authorization": "Bearer " + SECRET})

    def anthropic(self, stream=False, extra=None):
        body = {"model": "claude-test", "max_tokens": 256, "system": "You are terse.",
                "messages": [{"role": "user", "content": "Why is my pod crash-looping?"}],
                "tools": TOOLS_ANTHROPIC}
        if stream:
            body["stream"] = True
        body.update(extra or {})
        return body, self.call("/v1/messages", body,
                               headers={"x-api-key": SECRET, "anthropic-version": "2023-06-01"})


def sse_openai(data):
    """data: lines of an OpenAI stream -> (list of chunk objects, saw_done)."""
    chunks, done = [], False
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        self_line = block.strip()
        assert self_line.startswith("data: "), block
        payload = self_line[len("data: "):]
        if payload == "[DONE]":
            done = True
        else:
            chunks.append(json.loads(payload))
    return chunks, done


def sse_anthropic(data):
    events = []
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.strip().split("\n"))
        obj = json.loads(lines["data"])
        assert obj["type"] == lines["event"], block
        events.append(obj)
    return events


class ServerTest(Base):
    """Against the real CLI in a subprocess."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.port_file = os.path.join(cls.tmp.name, "port")
        cls.proc, cls.port = start_subprocess("--port-file", cls.port_file)

    @classmethod
    def tearDownClass(cls):
        rc = stop_subprocess(cls.proc)
        cls.tmp.cleanup()
        assert rc == 0, "server exit code %r after SIGTERM" % rc

    def setUp(self):
        self.script({"turns": []})

    # ---- OpenAI

    def test_port_file(self):
        with open(self.port_file) as f:
            self.assertEqual(int(f.read().strip()), self.port)

    def test_openai_plain(self):
        self.script({"turns": [{"content": "Hello, world"}]})
        body, (status, headers, data) = self.openai()
        self.assertEqual(status, 200)
        self.assertIn("application/json", headers["Content-Type"])
        out = json.loads(data)
        self.assertEqual(out["object"], "chat.completion")
        self.assertEqual(out["model"], "gpt-test")
        choice = out["choices"][0]
        self.assertEqual(choice["index"], 0)
        self.assertEqual(choice["message"], {"role": "assistant", "content": "Hello, world"})
        self.assertEqual(choice["finish_reason"], "stop")
        # "You are terse." (14) + "Hi" (2) = 16 -> 4; "Hello, world" (12) -> 3
        self.assertEqual(out["usage"], {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7})
        for path in ("/chat/completions",):
            self.script({"turns": [{"content": "x"}]})
            _, (status, _, data) = self.openai(path=path)
            self.assertEqual(json.loads(data)["choices"][0]["message"]["content"], "x")

    def test_openai_tool_call_plain(self):
        self.script({"turns": [{"tool_calls": [{"name": "get_pods", "arguments": {"namespace": "shop"}},
                                               {"name": "nope", "arguments": "{not json", "id": "call_X"}]}]})
        _, (status, _, data) = self.openai(extra={"tools": TOOLS_OPENAI})
        out = json.loads(data)
        msg = out["choices"][0]["message"]
        self.assertIsNone(msg["content"])
        self.assertEqual(out["choices"][0]["finish_reason"], "tool_calls")
        self.assertEqual(len(msg["tool_calls"]), 2)
        first, second = msg["tool_calls"]
        self.assertEqual(first["type"], "function")
        self.assertTrue(first["id"].startswith("call_"))
        self.assertEqual(first["function"], {"name": "get_pods", "arguments": '{"namespace":"shop"}'})
        self.assertEqual(second, {"id": "call_X", "type": "function",
                                  "function": {"name": "nope", "arguments": "{not json"}})
        self.assertEqual(out["usage"]["completion_tokens"], scripted_llm.tokens(20 + 9))

    def test_azure_path(self):
        self.script({"turns": [{"content": "azure"}]})
        _, (status, _, data) = self.openai(
            path="/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01",
            extra={"model": None}, headers={"api-key": SECRET})
        self.assertEqual(status, 200, data)
        out = json.loads(data)
        self.assertEqual(out["model"], "gpt4o-prod")
        rec = self.requests()[-1]
        self.assertEqual(rec["headers"]["api-key"], scripted_llm.REDACTED)
        self.assertEqual(rec["query"], {"api-version": "2024-06-01"})
        self.assertEqual(rec["path"], "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01")
        self.assertTrue(rec["auth"]["api-key"])
        self.assertFalse(rec["auth"]["authorization"])

    def test_openai_stream_text(self):
        self.script({"turns": [{"content": "The pod is OOMKilled; raise the memory limit."}]})
        body, (status, headers, data) = self.openai(stream=True)
        self.assertEqual(status, 200)
        self.assertIn("text/event-stream", headers["Content-Type"])
        chunks, done = sse_openai(data)
        self.assertTrue(done)
        self.assertTrue(data.decode().rstrip().endswith("data: [DONE]"))
        for c in chunks:
            self.assertEqual(c["object"], "chat.completion.chunk")
        content_chunks = [c for c in chunks if c["choices"] and "content" in c["choices"][0]["delta"]]
        text = "".join(c["choices"][0]["delta"]["content"] for c in content_chunks)
        self.assertEqual(text, "The pod is OOMKilled; raise the memory limit.")
        self.assertGreater(len(content_chunks), 3)
        finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
        self.assertEqual(finish, ["stop"])
        self.assertEqual(chunks[-1]["choices"], [])
        self.assertEqual(chunks[-1]["usage"]["completion_tokens"], scripted_llm.tokens(45))
        self.assertEqual(chunks[-1]["usage"]["prompt_tokens"], scripted_llm.prompt_tokens(body))
        # without include_usage there is no usage chunk
        self.script({"turns": [{"content": "abc"}]})
        _, (_, _, data) = self.openai(stream=True, extra={"stream_options": None})
        chunks, done = sse_openai(data)
        self.assertTrue(done)
        self.assertTrue(all("usage" not in c for c in chunks))

    def test_openai_stream_tool_call(self):
        args = {"namespace": "shop", "selector": "app=checkout"}
        self.script({"turns": [{"content": "Looking.", "tool_calls": [{"name": "get_pods", "arguments": args}]}]})
        _, (status, _, data) = self.openai(stream=True, extra={"tools": TOOLS_OPENAI})
        chunks, done = sse_openai(data)
        self.assertTrue(done)
        deltas = [c["choices"][0]["delta"]["tool_calls"] for c in chunks
                  if c["choices"] and "tool_calls" in c["choices"][0]["delta"]]
        self.assertGreaterEqual(len(deltas), 3)  # the header delta plus >= 2 argument pieces
        head = deltas[0][0]
        self.assertEqual(head["index"], 0)
        self.assertEqual(head["type"], "function")
        self.assertEqual(head["function"]["name"], "get_pods")
        self.assertTrue(head["id"].startswith("call_"))
        pieces = [d[0]["function"]["arguments"] for d in deltas[1:]]
        self.assertTrue(all(d[0]["index"] == 0 and "id" not in d[0] and "name" not in d[0]["function"]
                            for d in deltas[1:]))
        self.assertGreaterEqual(len(pieces), 2)
        self.assertEqual(json.loads("".join(pieces)), args)
        finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
        self.assertEqual(finish, ["tool_calls"])

    # ---- Anthropic

    def test_anthropic_plain_tool_use(self):
        self.script({"turns": [{"content": "Checking pods.",
                                "tool_calls": [{"name": "get_pods", "arguments": {"namespace": "shop"}}]},
                               {"content": "Done."}]})
        body, (status, _, data) = self.anthropic()
        self.assertEqual(status, 200, data)
        out = json.loads(data)
        self.assertEqual(out["type"], "message")
        self.assertEqual(out["role"], "assistant")
        self.assertEqual(out["model"], "claude-test")
        self.assertEqual(out["stop_reason"], "tool_use")
        self.assertEqual(out["content"][0], {"type": "text", "text": "Checking pods."})
        tool = out["content"][1]
        self.assertEqual(tool["type"], "tool_use")
        self.assertEqual(tool["name"], "get_pods")
        self.assertEqual(tool["input"], {"namespace": "shop"})
        self.assertTrue(tool["id"].startswith("toolu_"))
        self.assertEqual(out["usage"], {"input_tokens": scripted_llm.prompt_tokens(body),
                                        "output_tokens": scripted_llm.tokens(14 + 20)})
        # second turn: send the tool result back
        body2 = dict(body)
        body2["messages"] = body["messages"] + [
            {"role": "assistant", "content": out["content"]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool["id"],
                                          "content": "checkout-1 CrashLoopBackOff"}]}]
        status, _, data = self.call("/v1/messages", body2, headers={"x-api-key": SECRET})
        out2 = json.loads(data)
        self.assertEqual(out2["stop_reason"], "end_turn")
        self.assertEqual(out2["content"], [{"type": "text", "text": "Done."}])
        expected = (len("You are terse.") + len("Why is my pod crash-looping?") + len("Checking pods.")
                    + len('{"namespace":"shop"}') + len("checkout-1 CrashLoopBackOff")
                    + len(json.dumps(TOOLS_ANTHROPIC[0], separators=(",", ":"))))
        self.assertEqual(out2["usage"]["input_tokens"], -(-expected // 4))

    def test_anthropic_stream_tool_use(self):
        args = {"namespace": "shop", "tail": 50}
        self.script({"turns": [{"content": "Let me look.", "tool_calls": [{"name": "get_pods", "arguments": args}]}]})
        body, (status, headers, data) = self.anthropic(stream=True)
        self.assertEqual(status, 200)
        self.assertIn("text/event-stream", headers["Content-Type"])
        events = sse_anthropic(data)
        types = [e["type"] for e in events]
        self.assertEqual(types[0], "message_start")
        self.assertEqual(types[-2:], ["message_delta", "message_stop"])
        self.assertEqual(events[0]["message"]["usage"]["input_tokens"], scripted_llm.prompt_tokens(body))
        starts = [e for e in events if e["type"] == "content_block_start"]
        self.assertEqual([s["content_block"]["type"] for s in starts], ["text", "tool_use"])
        self.assertEqual(starts[1]["content_block"]["name"], "get_pods")
        self.assertTrue(starts[1]["content_block"]["id"].startswith("toolu_"))
        text = "".join(e["delta"]["text"] for e in events
                       if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta")
        self.assertEqual(text, "Let me look.")
        pieces = [e["delta"]["partial_json"] for e in events
                  if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"]
        self.assertGreaterEqual(len(pieces), 2)
        self.assertTrue(all(e["index"] == 1 for e in events
                            if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"))
        self.assertEqual(json.loads("".join(pieces)), args)
        self.assertEqual(len([e for e in events if e["type"] == "content_block_stop"]), 2)
        delta = events[-2]
        self.assertEqual(delta["delta"]["stop_reason"], "tool_use")
        self.assertEqual(delta["usage"]["output_tokens"], scripted_llm.tokens(12 + len('{"namespace":"shop","tail":50}')))

    def test_anthropic_invalid_arguments(self):
        self.script({"turns": [{"tool_calls": [{"name": "rm_rf", "arguments": "{\"path\": "}]}]})
        _, (_, _, data) = self.anthropic()
        out = json.loads(data)
        self.assertEqual(out["content"], [{"type": "tool_use", "id": out["content"][0]["id"],
                                           "name": "rm_rf", "input": "{\"path\": "}])

    # ---- counting rule

    def test_counting_rule(self):
        body = {"messages": [{"role": "system", "content": "abcd"},
                             {"role": "user", "content": [{"type": "text", "text": "efgh"},
                                                          {"type": "image_url", "image_url": {"url": "x" * 99}}]},
                             {"role": "assistant", "content": None, "tool_calls": [
                                 {"id": "c1", "type": "function",
                                  "function": {"name": "get_pods", "arguments": "{\"a\": 1}"}}]},
                             {"role": "tool", "tool_call_id": "c1", "content": "result"}],
                "tools": TOOLS_OPENAI}
        tools_len = len(json.dumps(TOOLS_OPENAI[0], separators=(",", ":")))
        chars = 4 + 4 + len("{\"a\": 1}") + 6 + tools_len
        self.assertEqual(scripted_llm.prompt_chars(body), chars)
        self.assertEqual(scripted_llm.prompt_tokens(body), (chars + 3) // 4)
        self.assertEqual(scripted_llm.tokens(0), 1)
        self.assertEqual(scripted_llm.tokens(1), 1)
        self.assertEqual(scripted_llm.tokens(4), 1)
        self.assertEqual(scripted_llm.tokens(5), 2)
        turn = {"content": "abcde", "tool_calls": [{"name": "t", "arguments": {"k": "v"}}]}
        self.assertEqual(scripted_llm.completion_chars(turn), 5 + 9)
        self.assertEqual(scripted_llm.completion_tokens(turn), 4)
        self.assertEqual(scripted_llm.completion_tokens({"content": ""}), 1)
        # the server reports exactly these numbers
        self.script({"turns": [turn, dict(turn, usage={"prompt_tokens": 1000})]})
        status, _, out = self.jcall("/v1/chat/completions", body)
        self.assertEqual(out["usage"], {"prompt_tokens": (chars + 3) // 4, "completion_tokens": 4,
                                        "total_tokens": (chars + 3) // 4 + 4})
        status, _, out = self.jcall("/v1/chat/completions", body)
        self.assertEqual(out["usage"], {"prompt_tokens": 1000, "completion_tokens": 4, "total_tokens": 1004})
        self.assertEqual(scripted_llm.usage_for(body, dict(turn, usage={"completion_tokens": 7})),
                         ((chars + 3) // 4, 7))

    # ---- faults

    def test_fault_429_retry_after_then_success(self):
        self.script({"turns": [{"fault": "status", "status": 429, "retry_after": "2", "repeat": 2},
                               {"content": "ok"}]})
        for _ in range(2):
            _, (status, headers, data) = self.openai()
            self.assertEqual(status, 429)
            self.assertEqual(headers["Retry-After"], "2")
            self.assertEqual(json.loads(data)["error"]["type"], "rate_limit_exceeded")
        _, (status, _, data) = self.openai()
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["choices"][0]["message"]["content"], "ok")
        self.assertEqual([r["status"] for r in self.requests()], [429, 429, 200])
        self.assertEqual([r["turn"] for r in self.requests()], [0, 0, 1])

    def test_fault_500_and_custom_body(self):
        self.script({"turns": [{"fault": "status", "status": 500},
                               {"fault": "status", "status": 529, "body": {"type": "error", "error": {
                                   "type": "overloaded_error", "message": "Overloaded"}}}]})
        _, (status, headers, data) = self.anthropic()
        self.assertEqual(status, 500)
        self.assertNotIn("Retry-After", headers)
        self.assertEqual(json.loads(data)["error"]["type"], "api_error")
        _, (status, _, data) = self.anthropic()
        self.assertEqual(status, 529)
        self.assertEqual(json.loads(data)["error"]["message"], "Overloaded")

    def test_fault_slow(self):
        self.script({"turns": [{"fault": "slow", "delay_ms": 400, "content": "late"},
                               {"fault": "slow", "delay_ms": 3000, "content": "too late"}]})
        t0 = time.monotonic()
        _, (status, _, data) = self.openai()
        self.assertGreaterEqual(time.monotonic() - t0, 0.39)
        self.assertEqual(json.loads(data)["choices"][0]["message"]["content"], "late")
        t0 = time.monotonic()
        with self.assertRaises(OSError):  # socket.timeout / URLError(timeout)
            self.call("/v1/chat/completions", {"messages": []}, timeout=0.5)
        self.assertLess(time.monotonic() - t0, 2.5)

    def test_fault_malformed(self):
        self.script({"turns": [{"fault": "malformed"}, {"fault": "malformed"}]})
        _, (status, headers, data) = self.openai()
        self.assertEqual(status, 200)
        self.assertIn("application/json", headers["Content-Type"])
        with self.assertRaises(ValueError):
            json.loads(data)
        _, (status, _, data) = self.openai(stream=True)
        self.assertEqual(status, 200)
        with self.assertRaises(ValueError):
            sse_openai(data)

    def _raw_post(self, path, body, headers=None):
        """http.client so a cut connection is observable: (status, bytes read, error)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            got, error = b"", None
            try:
                got = resp.read()
            except http.client.IncompleteRead as exc:
                got, error = exc.partial, exc
            except ConnectionError as exc:
                error = exc
            return resp.status, got, error
        finally:
            conn.close()

    def test_fault_cut_non_streaming(self):
        self.script({"turns": [{"fault": "cut", "content": "this answer never arrives whole"}]})
        status, got, error = self._raw_post("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]})
        self.assertEqual(status, 200)
        self.assertIsInstance(error, http.client.IncompleteRead)
        with self.assertRaises(ValueError):
            json.loads(got)
        # urllib sees the same
        self.script({"turns": [{"fault": "cut", "content": "again"}]})
        with self.assertRaises(http.client.IncompleteRead):
            self.openai()

    def test_fault_cut_streaming(self):
        self.script({"turns": [{"fault": "cut", "content": "a long streamed answer that is cut"},
                               {"fault": "cut", "tool_calls": [{"name": "get_pods", "arguments": {"n": "s"}}]}]})
        status, got, error = self._raw_post("/v1/chat/completions", {
            "stream": True, "messages": [{"role": "user", "content": "x"}]})
        self.assertEqual(status, 200)
        self.assertIsInstance(error, http.client.IncompleteRead)  # chunked body without its last chunk
        chunks, done = sse_openai(got)
        self.assertFalse(done)
        self.assertEqual(len(chunks), 2)
        self.assertEqual(chunks[1]["choices"][0]["delta"]["content"], "a long s")
        status, got, error = self._raw_post("/v1/messages", {
            "stream": True, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]})
        self.assertIsNotNone(error)
        events = sse_anthropic(got)
        self.assertNotIn("message_stop", [e["type"] for e in events])
        self.assertEqual(events[-1]["delta"]["type"], "input_json_delta")
        # the server is still fine afterwards
        self.script({"turns": [{"content": "alive"}]})
        _, (status, _, _) = self.openai()
        self.assertEqual(status, 200)

    # ---- recording, script, reset

    def test_recording_redacts_keys(self):
        self.script({"turns": [{"content": "a"}, {"content": "b"}]})
        body, _ = self.openai()
        self.anthropic()
        status, _, raw = self.call("/_requests")
        self.assertNotIn(SECRET.encode(), raw)
        recs = json.loads(raw)["requests"]
        self.assertEqual(len(recs), 2)
        self.assertEqual(recs[0]["method"], "POST")
        self.assertEqual(recs[0]["path"], "/v1/chat/completions")
        self.assertEqual(recs[0]["protocol"], "openai")
        self.assertEqual(recs[0]["headers"]["authorization"], "Bearer " + scripted_llm.REDACTED)
        self.assertEqual(recs[0]["body"], body)
        self.assertTrue(recs[0]["auth"]["authorization"])
        self.assertEqual(recs[1]["headers"]["x-api-key"], scripted_llm.REDACTED)
        self.assertEqual(recs[1]["headers"]["anthropic-version"], "2023-06-01")
        self.assertFalse(recs[1]["auth"]["authorization"])
        self.assertEqual(recs[1]["protocol"], "anthropic")
        # an empty key is reported as present but empty
        self.openai(headers={"Authorization": ""})
        self.assertEqual(self.requests()[-1]["headers"]["authorization"], scripted_llm.EMPTY)

    def test_script_replace_and_reset(self):
        self.script({"turns": [{"content": "one"}, {"content": "two"}], "default": {"content": "again"}})
        said = [json.loads(self.openai()[1][2])["choices"][0]["message"]["content"] for _ in range(4)]
        self.assertEqual(said, ["one", "two", "again", "again"])
        self.assertEqual(len(self.requests()), 4)
        status, _, info = self.jcall("/_script")
        self.assertEqual(info["position"], 2)
        self.jcall("/_reset", {})
        self.assertEqual(self.requests(), [])
        self.assertEqual(json.loads(self.openai()[1][2])["choices"][0]["message"]["content"], "one")
        # a bare list is a script; replacement rewinds; without default: the fixed text
        status, _, _ = self.jcall("/_script", [{"content": "only"}])
        self.assertEqual(status, 200)
        said = [json.loads(self.openai()[1][2])["choices"][0]["message"]["content"] for _ in range(2)]
        self.assertEqual(said, ["only", scripted_llm.NO_MORE_TURNS])
        # invalid scripts are refused and leave the current one alone
        for bad in ({"turns": [{"fault": "explode"}]}, {"turns": [{"contnet": "typo"}]}, {"turns": "x"}, 42):
            status, _, out = self.jcall("/_script", bad)
            self.assertEqual(status, 400, bad)
            self.assertIn("bad script", out["error"])
        status, _, _ = self.call("/_script", raw=b"{nope")
        self.assertEqual(status, 400)

    def test_rules_answer_by_content_and_stay(self):
        self.script({"rules": [{"match": {"message_contains": "critic"}, "content": "{\"ok\": true}"},
                               {"match": {"message_contains": "OOMKilled"}, "content": "out of memory"}],
                     "turns": [{"content": "first turn"}], "default": {"content": "fallback"}})
        def say(text):
            return json.loads(self.openai(text)[1][2])["choices"][0]["message"]["content"]
        self.assertEqual([say("you are the critic"), say("pod OOMKilled"), say("critic again")],
                         ['{"ok": true}', "out of memory", '{"ok": true}'])
        self.assertEqual([say("other"), say("other")], ["first turn", "fallback"])
        status, _, out = self.jcall("/_script", {"rules": [{"content": "x", "repeat": 2}]})
        self.assertEqual(status, 400)

    def test_match(self):
        self.script({"turns": [{"tool_calls": [{"name": "get_pods", "arguments": {}}]},
                               {"match": {"tool_result_contains": "OOMKilled"}, "content": "memory"}]})
        self.openai()
        base = [{"role": "user", "content": "why"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "get_pods", "arguments": "{}"}}]}]
        status, _, out = self.jcall("/v1/chat/completions", {"messages": base + [
            {"role": "tool", "tool_call_id": "c", "content": "all Running"}]})
        self.assertEqual(status, 409)
        self.assertIn("OOMKilled", out["error"]["message"])
        status, _, out = self.jcall("/v1/chat/completions", {"messages": base + [
            {"role": "tool", "tool_call_id": "c", "content": "Last state: OOMKilled"}]})
        self.assertEqual(status, 200)
        self.assertEqual(out["choices"][0]["message"]["content"], "memory")
        self.assertIn("mismatch", self.requests()[1])

    def test_bad_input(self):
        status, _, out = self.jcall("/v1/chat/completions", raw=b"{not json")
        self.assertEqual(status, 400)
        self.assertIn("invalid JSON", out["error"]["message"])
        status, _, out = self.jcall("/v1/messages", [1, 2])
        self.assertEqual(status, 400)
        self.assertEqual(out["type"], "error")
        status, _, out = self.jcall("/v1/messages", {"model": "x"})
        self.assertEqual(status, 400)
        status, _, _ = self.call("/v1/chat/completions", raw=b"\xff\xfe")
        self.assertEqual(status, 400)
        status, _, _ = self.call("/v1/nowhere", {"messages": []})
        self.assertEqual(status, 404)
        status, _, _ = self.call("/v1/chat/completions", method="GET")
        self.assertEqual(status, 405)
        # garbage on the socket
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.putrequest("POST", "/v1/chat/completions")
        conn.putheader("Content-Length", "-5")
        conn.endheaders()
        self.assertEqual(conn.getresponse().status, 400)
        conn.close()
        self.assertEqual(self.jcall("/_health")[2], {"ok": True})
        recorded = self.requests()
        self.assertEqual(recorded[0]["body"], None)
        self.assertEqual(recorded[0]["body_text"], "{not json")

    def test_concurrent_requests_get_distinct_turns(self):
        n = 8
        self.script({"turns": [{"content": "t%d" % i, "fault": "slow", "delay_ms": 50} for i in range(n)]})
        results, errors = [], []

        def worker():
            try:
                results.append(json.loads(self.openai()[1][2])["choices"][0]["message"]["content"])
            except Exception as exc:  # pragma: no cover
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(results), sorted("t%d" % i for i in range(n)))


class CliTest(unittest.TestCase):
    def test_script_file_and_signals(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "s.json")
            with open(path, "w") as f:
                json.dump({"turns": [{"content": "from file"}], "default": {"content": "default"}}, f)
            for sig in (signal.SIGTERM, signal.SIGINT):
                proc, port = start_subprocess("--script", path, "--chunk-size", "3")
                try:
                    req = urllib.request.Request("http://127.0.0.1:%d/v1/messages" % port,
                                                 data=json.dumps({"messages": [], "stream": True}).encode())
                    with urllib.request.urlopen(req, timeout=5) as resp:
                        events = sse_anthropic(resp.read())
                    text = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
                    self.assertEqual(text, ["fro", "m f", "ile"])
                finally:
                    rc = stop_subprocess(proc, sig)
                self.assertEqual(rc, 0)

    def test_bad_script_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "s.json")
            with open(path, "w") as f:
                f.write('{"turns": [{"fault": "nope"}]}')
            proc = subprocess.run([sys.executable, SERVER, "--script", path], capture_output=True, text=True,
                                  timeout=10)
            self.assertEqual(proc.returncode, 2)
            self.assertIn("cannot load script", proc.stderr)


class InProcessTest(Base):
    def test_python_api(self):
        server = scripted_llm.start_server({"turns": [{"content": "in-process"}]})
        try:
            self.port = server.port
            _, (status, _, data) = self.openai()
            self.assertEqual(json.loads(data)["choices"][0]["message"]["content"], "in-process")
            self.assertEqual(len(server.requests()), 1)
            server.set_script({"turns": [{"content": "swapped"}]})
            _, (status, _, data) = self.openai()
            self.assertEqual(json.loads(data)["choices"][0]["message"]["content"], "swapped")
            server.reset()
            self.assertEqual(server.requests(), [])
            with self.assertRaises(scripted_llm.ScriptError):
                server.set_script({"turns": [{"repeat": 0}]})
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
