#!/usr/bin/env python3
"""Opens an HTML report in a real headless Chromium and checks it (issue 14).

  check_report.py REPORT.html [REPORT2.html ...] [--screenshot-dir DIR] [--chromium PATH]

For each report: loads it from disk (file://, no server), then fails if the page logged a
console error, threw an exception, failed to load a resource, or shows an image that did not
decode (a figure whose file is missing). Saves a full-page screenshot (PNG) of each report to
--screenshot-dir (default: beside the report, <name>.screenshot.png) and checks it is a PNG.

Talks to Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
ended by NUL on file descriptors 3 and 4), so it needs nothing but Python and Chromium.
Exit codes: 0 all reports clean, 1 a report failed, 77 no Chromium (ctest counts it skipped).
"""
import argparse
import base64
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
TIMEOUT_S = 90.0


class DevTools:
    """A browser started with --remote-debugging-pipe, and its protocol."""

    def __init__(self, chromium, profile):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def wire():  # the child's fds 3 (commands in) and 4 (replies out)
            # Through fresh numbers first: a pipe end that already is 3 or 4 would keep its
            # close-on-exec flag (dup2 onto itself does nothing).
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        args = [chromium, "--headless=new", "--remote-debugging-pipe", "--no-sandbox",
                "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--hide-scrollbars", "--mute-audio",
                f"--user-data-dir={profile}", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=wire, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.from_child], [], [], left)
            if ready:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    err = self.proc.stderr.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"Chromium closed the pipe:\n{err}")
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=None, timeout=30.0):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session, timeout=30.0):
        deadline = time.monotonic() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == method and e.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method and m.get("sessionId") == session:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def problems_in(events, session):
    """Console errors, exceptions and failed loads among the page's events."""
    found = []
    for e in events:
        if e.get("sessionId") != session:
            continue
        p = e.get("params", {})
        if e["method"] == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            found.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            found.append("console." + p["type"] + ": " +
                         " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            found.append(f"log error: {entry.get('text', '')} {entry.get('url', '')}".strip())
    return found


def check(tools, report, shot):
    target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        tools.call(f"{domain}.enable", session=session)
    tools.call("Emulation.setDeviceMetricsOverride",
               {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
    nav = tools.call("Page.navigate", {"url": report.resolve().as_uri()}, session=session)
    if nav.get("errorText"):
        return [f"navigation failed: {nav['errorText']}"]
    tools.wait_event("Page.loadEventFired", session, timeout=TIMEOUT_S)
    found = []
    page = tools.call("Runtime.evaluate", {"returnByValue": True, "expression": """
        ({broken: Array.from(document.images)
                       .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src')),
          images: document.images.length,
          tables: document.querySelectorAll('table').length,
          title: document.title,
          height: document.documentElement.scrollHeight})"""}, session=session)["result"]["value"]
    found += [f"image did not load: {src}" for src in page["broken"]]
    if page["tables"] == 0:
        found.append("no table on the page")
    # Events that arrive just after load (late images) count too.
    time.sleep(0.5)
    tools.call("Runtime.evaluate", {"expression": "0"}, session=session)
    found += problems_in(tools.events, session)
    height = min(int(page["height"]), 16000)
    tools.call("Emulation.setDeviceMetricsOverride",
               {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
    png = base64.b64decode(tools.call("Page.captureScreenshot", {"format": "png"}, session=session,
                                      timeout=TIMEOUT_S)["data"])
    if not png.startswith(b"\x89PNG\r\n\x1a\n") or len(png) < 1000:
        found.append("the screenshot is not a PNG")
    shot.write_bytes(png)
    print(f"{report}: '{page['title']}', {page['tables']} tables, {page['images']} images, "
          f"{height} px high; screenshot {shot} ({len(png)} bytes)")
    tools.call("Target.closeTarget", {"targetId": target})
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports", nargs="+", type=pathlib.Path)
    ap.add_argument("--screenshot-dir", type=pathlib.Path)
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM") or shutil.which("chromium")
                    or shutil.which("chromium-browser"))
    a = ap.parse_args()
    if not a.chromium:
        print("check_report.py: SKIPPED: no chromium on PATH (apt-get install chromium; "
              "scripts/setup.sh installs it)")
        return SKIP
    for r in a.reports:
        if not r.is_file():
            print(f"check_report.py: {r}: not found", file=sys.stderr)
            return 1
    failed = False
    with tempfile.TemporaryDirectory(prefix="gradgate-chromium-") as profile:
        tools = DevTools(a.chromium, profile)
        try:
            for r in a.reports:
                d = a.screenshot_dir or r.parent
                d.mkdir(parents=True, exist_ok=True)
                shot = d / (r.parent.name + "-" + r.stem + ".screenshot.png")
                found = check(tools, r, shot)
                for f in found:
                    print(f"{r}: {f}", file=sys.stderr)
                failed |= bool(found)
        finally:
            tools.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
