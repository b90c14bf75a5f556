#!/usr/bin/env python3
"""Drives headless Chromium (Debian's) over the DevTools protocol on a pipe
(--remote-debugging-pipe: no extra library) against the operator's web
timeline, and checks what a person would see:

  1. the run list renders, and a run created while the page is open appears
     without a reload (Server-Sent Events);
  2. a finished run renders as a timeline: every step, its evidence
     excerpts, findings and the answer, as in the run's status;
  3. a run waiting for approval shows AwaitingApproval, and once a person
     approves it (kubectl, from here) the same page, not reloaded, shows the
     approved step and Succeeded;
  4. the page logged no console error, threw no exception and the browser
     reported no failed request or policy violation, all along.

Prints "ok ..." / "bad ..." lines; exits 1 when a check failed.
Usage: timeline_check.py --chromium PATH --url http://127.0.0.1:PORT --namespace NS
                         --finished RUN --gated RUN --new-run-manifest FILE
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

failures = 0


def ok(msg):
    print("ok " + msg, flush=True)


def bad(msg):
    global failures
    failures += 1
    print("bad " + msg, flush=True)


class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="opscopilot-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():  # the DevTools pipe is fd 3 (commands in) and fd 4 (answers out)
            # Out of the way first (either may be 3 or 4 already), then in place, inheritable.
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            r, w = os.dup2(r, 100), os.dup2(w, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--user-data-dir=" + self.profile, "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-component-update",
             "about:blank"],
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.next_id = 0
        self.lock = threading.Condition()
        self.replies = {}
        self.events = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self.from_chrome, 65536)
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self.lock:
                    if "id" in msg:
                        self.replies[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                    self.lock.notify_all()

    def send(self, method, params=None, session=None, timeout=30):
        with self.lock:
            self.next_id += 1
            i = self.next_id
        msg = {"id": i, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        with self.lock:
            while i not in self.replies:
                left = deadline - time.time()
                if left <= 0:
                    raise TimeoutError(method)
                self.lock.wait(left)
            reply = self.replies.pop(i)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Page:
    def __init__(self, browser):
        self.b = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(domain + ".enable")

    def send(self, method, params=None):
        return self.b.send(method, params, self.session)

    def goto(self, url):
        self.send("Page.navigate", {"url": url})

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            return None
        return r["result"].get("value")

    def wait_for(self, expr, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.1)
        return None

    def problems(self):
        """Console errors, exceptions, failed requests and violations the page produced."""
        out = []
        with self.b.lock:
            events = [e for e in self.b.events if e.get("sessionId") == self.session]
        for e in events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + d.get("text", "") + " " + d.get("exception", {}).get("description", ""))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: " + p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                out.append("request failed: " + p.get("errorText", "") + " " + p.get("blockedReason", ""))
        return out


def kubectl(*args):
    return subprocess.run(["kubectl", *args], check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--finished", required=True)
    ap.add_argument("--gated", required=True)
    ap.add_argument("--new-run-manifest", required=True)
    a = ap.parse_args()
    ns = a.namespace
    browser = Browser(a.chromium)
    try:
        version = browser.send("Browser.getVersion")["product"]
        page = Page(browser)

        # 1. The list, live.
        page.goto(a.url + "/")
        if page.wait_for(f"document.querySelector('tr.run[data-run=\"{ns}/{a.finished}\"]') !== null"):
            ok(f"{version} renders the run list with {a.finished}")
        else:
            bad("the run list did not show " + a.finished + ": " + str(page.eval("document.body.innerText")))
        page.eval("window.__marker = 'not reloaded'")
        page.wait_for("document.getElementById('live').textContent === 'live'", 10)
        created = json.loads(kubectl("-n", ns, "create", "-o", "json", "-f", a.new_run_manifest))["metadata"]["name"]
        if page.wait_for(f"document.querySelector('tr.run[data-run=\"{ns}/{created}\"]') !== null") and \
                page.eval("window.__marker") == "not reloaded":
            ok(f"a run created meanwhile ({created}) appeared in the open list without a reload")
        else:
            bad("the new run did not appear live: " + str(page.eval("document.getElementById('main').innerText"))[:400])

        # 2. A finished run as a timeline.
        run = json.loads(kubectl("-n", ns, "get", "dr", a.finished, "-o", "json"))
        st = run["status"]
        page.goto(f"{a.url}/#/{ns}/{a.finished}")
        steps = page.wait_for(f"document.querySelectorAll('#steps li.step').length === {len(st['steps'])} && "
                              "document.getElementById('run').dataset.phase")
        shown = page.eval("JSON.stringify({steps: [...document.querySelectorAll('#steps li.step')].map(s => s.dataset.step),"
                          " evidence: [...document.querySelectorAll('#steps .evidence')].map(e => e.dataset.evidence),"
                          " excerpt: (document.querySelector('#steps .evidence pre') || {}).textContent,"
                          " findings: document.querySelectorAll('#findings .finding').length,"
                          " answer: (document.querySelector('#answer pre') || {}).textContent,"
                          " phase: document.getElementById('run-phase').textContent})")
        shown = json.loads(shown or "{}")
        cited = sorted({e for s in st["steps"] for e in s.get("evidence", [])})
        first_excerpt = next((e["excerpt"] for s in st["steps"] for i in s.get("evidence", []) for e in st["evidence"] if e["id"] == i), None)
        if steps == "Succeeded" and shown.get("steps") == [str(s["id"]) for s in st["steps"]] and \
                sorted(set(shown.get("evidence", []))) == cited and shown.get("excerpt") == first_excerpt and \
                shown.get("findings") == len(st.get("findings", [])) and shown.get("answer") == st["answer"] and \
                shown.get("phase") == "Succeeded (Completed)":
            ok(f"{a.finished} renders as a timeline: {len(st['steps'])} steps, evidence {', '.join(cited)} with their "
               f"excerpts, {shown['findings']} findings and the answer, as in its status")
        else:
            bad(f"the timeline of {a.finished}: {json.dumps(shown)[:600]}")

        # 3. A run waiting for a person, approved while the page is open.
        page.goto(f"{a.url}/#/{ns}/{a.gated}")
        if page.wait_for("document.getElementById('run') && document.getElementById('run').dataset.phase === 'AwaitingApproval'"):
            ok(f"{a.gated} shows AwaitingApproval")
        else:
            bad(f"{a.gated} is not shown waiting: " + str(page.eval("document.getElementById('main').innerText"))[:300])
        page.eval("window.__marker = 'still the same page'")
        gated = json.loads(kubectl("-n", ns, "get", "dr", a.gated, "-o", "json"))
        message = next(c["message"] for c in gated["status"]["conditions"] if c["type"] == "AwaitingApproval")
        apr = message.split("ApprovalRequest ")[1].split(" ")[0]
        me = json.loads(kubectl("auth", "whoami", "-o", "json"))["status"]["userInfo"]["username"]
        kubectl("-n", ns, "patch", "apr", apr, "--type", "merge",
                "-p", json.dumps({"spec": {"decision": "Approved", "decidedBy": me}}))
        if page.wait_for("document.getElementById('run') && document.getElementById('run').dataset.phase === 'Succeeded'", 60) and \
                page.eval("window.__marker") == "still the same page" and \
                page.eval("[...document.querySelectorAll('#steps li.step .what')].some(w => /read_configmap_data \u2014 Succeeded/.test(w.textContent))") and \
                page.eval(f"[...document.querySelectorAll('#approvals tr.approval')].some(r => r.textContent.includes('Approved by {me}'))"):
            ok(f"approved with kubectl ({apr}), the open page showed the approved step, the approval and Succeeded without a reload")
        else:
            bad("after the approval the page shows: " + str(page.eval("document.getElementById('main').innerText"))[:600])

        problems = page.problems()
        if problems:
            bad("the page logged: " + "; ".join(problems)[:800])
        else:
            ok("no console error, exception, failed request or policy violation all along")
        # The watch can fail: an error the page logs now is seen.
        page.eval("console.error('opscopilot probe')")
        time.sleep(0.5)
        if not any("opscopilot probe" in p for p in page.problems()):
            bad("the console watch missed an error logged on purpose")
    finally:
        browser.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
