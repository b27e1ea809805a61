#!/usr/bin/env python3
"""Opens an experiment's report.html in headless Chromium and checks that it renders.

usage: report_browser_check.py BUILD_DIR [--screenshot PNG] [--keep DIR] [--chromium PATH] [--report HTML]
                                          [--via-tl-experiment]

Writes a fake experiment directory (summary.json, two arms x two seeds of log.jsonl, diagrams.json and PNG
pictures made here with zlib + struct), has the doctest case "html report: the page of TL_HTML_REPORT_DIR ..." of
BUILD_DIR/tests/topolatent_tests render its report.html (tl::experiment::write_html_report), then loads the page in
headless Chromium driven through the DevTools protocol over a pipe (--remote-debugging-pipe; standard library
only) and checks: the headings and sections are there, the title's <&> came through as text, every <img> decoded
with the PNG's size, the loss-curve and diagram SVGs are there, the page requested nothing but data: URIs, and no
exception, console error or log error (a CSP violation, a failed load) was reported. --report checks an existing
page instead (only the generic checks). --via-tl-experiment renders the page with the real command instead,
`BUILD_DIR/apps/tl_experiment FILE --report-only --out DIR` run from the repository root (its aggregation makes the
summary, so the summary's exact claims and metric cells are not checked). --screenshot saves a full-page PNG
(1280 px wide) for the docs.

Exit status: 0 passed, 1 failed, 77 skipped (no Chromium).
"""
import argparse
import base64
import fcntl
import json
import math
import os
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

TITLE = 'Browser check <fake> & "escaped"'


def png_bytes(width, height, pixel):
    """An 8-bit RGB PNG whose pixel (x, y) is pixel(x, y) -> (r, g, b)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def fake_experiment(out):
    """Two arms x two seeds; returns {picture file name: (width, height)} of the pictures written."""
    arms = [("plain_ae", "Plain AE", 0.0), ("topological_ae", "TopoAE <topo>", 0.3)]
    seeds = [0, 1]
    pictures = {}
    runs, metrics = [], {}
    for arm, label, shift in arms:
        metrics[arm] = {}
        for seed in seeds:
            directory = f"{arm}/seed_{seed}"
            lines = ['{"event": "start"}']
            for step in range(1, 121):
                recon = 50.0 * math.exp(-step / 40.0) + 5.0 + shift + 0.5 * math.sin(step + seed)
                kl = 2.0 + 0.01 * step
                lines.append(json.dumps({"step": step, "epoch": 1 + (step - 1) // 40, "reconstruction": recon,
                                         "kl": kl, "total": recon + kl, "lr": 1e-3, "grad_norm": 3.0,
                                         "model_ms": 0.5, "topology_ms": 0.2 if shift else 0.0}))
                if step % 40 == 0:
                    lines.append(json.dumps({"epoch": step // 40, "validation_loss": recon + kl + 1.0}))
            write(f"{out}/{directory}/log.jsonl", "\n".join(lines) + "\n")
            write(f"{out}/{directory}/evaluation.json", json.dumps({"embedding": {"kl_0.1": 0.03 - shift / 20}}))
            if seed == seeds[0]:
                write(f"{out}/{directory}/diagrams.json", json.dumps({
                    "data": {"h0": [[0.0, 0.1 * (i + 1)] for i in range(12)], "h1": [[0.5, 0.9], [0.6, 0.7]]},
                    "latent": {"h0": [[0.0, 0.05 * (i + 1)] for i in range(12)], "h1": [[0.2, 0.3]]}}))
                for name, (w, h) in {"latents.png": (64, 48), "samples_kde.png": (40, 40),
                                     "interpolation.png": (80, 16)}.items():
                    write(f"{out}/{directory}/{name}",
                          png_bytes(w, h, lambda x, y: ((x * 7) % 256, (y * 11) % 256, 128 if shift else 32)))
                    pictures[f"{arm}/{name}"] = (w, h)
            runs.append({"arm": arm, "seed": seed, "directory": directory, "status": "done", "seconds": 2.5})
        for key, mean in (("embedding.kl_0.1", 0.03 - shift / 20), ("reconstruction.mse_per_feature", 0.1 + shift)):
            metrics[arm][key] = {"n": 2, "mean": mean, "std": 0.002, "ci95": [mean - 0.02, mean + 0.02],
                                 "values": [mean - 0.001, mean + 0.001]}
    claim = {"source": "Fake et al. 2024, Table 1 <b>", "baseline": "plain_ae", "treatment": "topological_ae",
             "pairs": 2, "ci95": [-0.02, -0.01], "estimate": -0.015}
    summary = {
        "experiment": "browser_check", "title": TITLE, "description": "A fake experiment & its report.",
        "profile": "quick", "profiles": ["quick", "full"], "seeds": seeds,
        "arms": [{"name": a, "label": l, "config": f"configs/{a}.json", "overrides": ["epochs=3"]} for a, l, _ in arms],
        "runs": runs, "metrics": metrics,
        "claims": [dict(claim, text="KL is lower.", metric="embedding.kl_0.1", kind="difference", better="lower",
                        verdict="reproduced", reason="the interval lies below 0"),
                   dict(claim, text="Reconstruction is no worse.", metric="reconstruction.mse_per_feature",
                        kind="difference", better="lower", verdict="not reproduced", reason="the interval lies above 0"),
                   dict(claim, text="Costs 2x to 5x.", metric="cost.median_step_ms", kind="ratio", range=[2, 5],
                        verdict="inconclusive", reason="fewer than 2 pairs")]}
    write(f"{out}/summary.json", json.dumps(summary, indent=1))
    return pictures


REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def experiment_file(out):
    """An experiment file (docs/experiments.md) of the fake summary's arms, seeds and claims, beside the runs."""
    summary = json.load(open(os.path.join(out, "summary.json")))
    keep = ("text", "source", "metric", "kind", "better", "baseline", "treatment", "range")
    document = {"name": summary["experiment"], "title": summary["title"], "description": summary["description"],
                "arms": [dict(a, config="configs/spheres_ae.json") for a in summary["arms"]],
                "profiles": {"quick": {"seeds": summary["seeds"], "overrides": [], "evaluate": []}},
                "evaluate": [], "claims": [{k: c[k] for k in keep if k in c} for c in summary["claims"]]}
    path = os.path.join(out, "experiment.json")
    write(path, json.dumps(document, indent=1))
    return path


class DevTools:
    """The Chrome DevTools protocol over --remote-debugging-pipe: NUL-terminated JSON, Chromium reads fd 3 and
    writes fd 4."""

    def __init__(self, chromium, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def child_fds():
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)  # os.dup2 makes them inheritable; everything else here is close-on-exec
            os.dup2(b, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
             "--hide-scrollbars", "--mute-audio", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=False,
            preexec_fn=child_fds)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.messages = queue.Queue()
        self.events = []
        self.next_id = 0
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()

    def _read(self):
        buffer = b""
        while True:
            data = os.read(self.from_chrome, 1 << 16)
            if not data:
                self.messages.put(None)
                return
            buffer += data
            while b"\0" in buffer:
                message, buffer = buffer.split(b"\0", 1)
                self.messages.put(json.loads(message))

    def call(self, method, params=None, session=None, timeout=30.0):
        self.next_id += 1
        request = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self.to_chrome, json.dumps(request).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            message = self._next(deadline, method)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_event(self, method, timeout=30.0):
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.time() + timeout
        while True:
            message = self._next(deadline, method)
            self.events.append(message)
            if message.get("method") == method:
                return message

    def _next(self, deadline, what):
        try:
            message = self.messages.get(timeout=max(0.01, deadline - time.time()))
        except queue.Empty:
            raise RuntimeError(f"Chromium did not answer {what} in time")
        if message is None:
            raise RuntimeError(f"Chromium closed the pipe waiting for {what}: {b''.join(self.stderr)[-2000:]!r}")
        return message

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# Everything the page shows, gathered in the page once every image has decoded (or failed to).
PROBE = r"""
(async () => {
  const images = [...document.images];
  const decoded = await Promise.all(images.map(i => i.decode().then(() => true, () => false)));
  const svgs = [...document.querySelectorAll('svg')];
  return JSON.stringify({
    title: document.title,
    h1: document.querySelector('h1') ? document.querySelector('h1').textContent : null,
    h2: [...document.querySelectorAll('h2')].map(h => h.textContent),
    images: images.map((i, k) => ({alt: i.alt, caption: i.closest('figure') ?
        i.closest('figure').querySelector('figcaption').textContent : '', decoded: decoded[k], complete: i.complete,
        width: i.naturalWidth, height: i.naturalHeight, data: i.src.startsWith('data:image/png;base64,')})),
    charts: document.querySelectorAll('svg.chart').length,
    diagrams: document.querySelectorAll('svg.diagram').length,
    polylines: [...document.querySelectorAll('svg.chart polyline')].map(p => p.points.numberOfItems),
    circles: document.querySelectorAll('svg.diagram circle').length,
    svgSizes: svgs.map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; }),
    claims: [...document.querySelectorAll('tr.claim')].map(r => r.querySelector('.verdict').textContent),
    verdictColours: [...document.querySelectorAll('tr.claim .verdict')].map(v => getComputedStyle(v).backgroundColor),
    metricCells: [...document.querySelectorAll('table.metrics td.num')].map(td => td.textContent),
    resources: performance.getEntriesByType('resource').map(r => r.name),
    scrollHeight: document.documentElement.scrollHeight,
    scripts: document.scripts.length
  });
})()
"""


def check_page(tools, url, expect_fake, pictures, exact_summary=True):
    failures = []
    target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Page"):
        tools.call(f"{domain}.enable", session=session)
    tools.call("Emulation.setDeviceMetricsOverride",
               {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=session)
    tools.events.clear()
    navigation = tools.call("Page.navigate", {"url": url}, session=session)
    if navigation.get("errorText"):
        failures.append(f"navigation failed: {navigation['errorText']}")
    tools.wait_event("Page.loadEventFired", timeout=60)
    result = tools.call("Runtime.evaluate", {"expression": PROBE, "awaitPromise": True, "returnByValue": True},
                        session=session, timeout=60)
    if "exceptionDetails" in result:
        raise RuntimeError(f"the probe failed: {result['exceptionDetails']}")
    page = json.loads(result["result"]["value"])
    time.sleep(0.5)  # late console messages
    tools.call("Runtime.evaluate", {"expression": "1"}, session=session)

    # Errors of any kind the page caused.
    for event in tools.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            failures.append(f"uncaught exception: {details.get('exception', {}).get('description', details.get('text'))}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            failures.append(f"console {params['type']}: {[a.get('value') for a in params.get('args', [])]}")
        elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
            failures.append(f"log {params['entry']['level']}: {params['entry'].get('text')}")

    # Generic checks: every section, every image decoded, nothing fetched from anywhere.
    for heading in ("Arms", "Claims", "Metrics", "Loss curves", "Persistence diagrams", "Pictures"):
        if heading not in page["h2"]:
            failures.append(f"heading {heading!r} missing (headings: {page['h2']})")
    for image in page["images"]:
        if not (image["decoded"] and image["complete"] and image["width"] > 0 and image["data"]):
            failures.append(f"image not loaded: {image}")
    if page["resources"]:
        failures.append(f"the page fetched resources: {page['resources']}")
    if page["scripts"]:
        failures.append(f"the page holds {page['scripts']} scripts")
    for width, height in page["svgSizes"]:
        if width <= 0 or height <= 0:
            failures.append(f"an SVG renders empty: {page['svgSizes']}")

    if expect_fake:
        if page["h1"] != TITLE or page["title"] != TITLE:
            failures.append(f"title not rendered as text: h1 {page['h1']!r}, title {page['title']!r}")
        if exact_summary and page["claims"] != ["reproduced", "not reproduced", "inconclusive"]:
            failures.append(f"claim verdicts: {page['claims']}")
        if exact_summary and len(set(page["verdictColours"])) != 3:
            failures.append(f"verdicts not coloured apart: {page['verdictColours']}")
        sizes = sorted((i["width"], i["height"]) for i in page["images"])
        if sizes != sorted(pictures.values()):
            failures.append(f"image sizes {sizes}, expected {sorted(pictures.values())}")
        captions = " ".join(i["caption"] for i in page["images"])
        for word in ("latent codes", "kde", "interpolation"):
            if word not in captions:
                failures.append(f"no caption mentions {word!r}: {captions!r}")
        if page["charts"] != 3:  # total, reconstruction, validation
            failures.append(f"{page['charts']} loss charts, expected 3")
        if page["polylines"][:2] != [120, 120]:
            failures.append(f"loss polylines have {page['polylines']} points, expected 120 per arm")
        if page["diagrams"] != 4:
            failures.append(f"{page['diagrams']} diagram SVGs, expected 4 (data and latent of two arms)")
        if exact_summary and not any("0.03 ± 0.002 (2)" in c for c in page["metricCells"]):
            failures.append(f"metric cell '0.03 ± 0.002 (2)' missing: {page['metricCells'][:6]}")
    return failures, page, session


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build", help="the build directory (holds tests/topolatent_tests)")
    parser.add_argument("--screenshot", help="save a full-page PNG here")
    parser.add_argument("--keep", help="write the fake experiment here (kept) instead of a temporary directory")
    parser.add_argument("--chromium", help="the browser (default: chromium, chromium-browser or google-chrome)")
    parser.add_argument("--report", help="check this report.html instead of a fake experiment's")
    parser.add_argument("--via-tl-experiment", action="store_true",
                        help="render the fake experiment with tl_experiment --report-only instead")
    args = parser.parse_args()

    chromium = args.chromium or next((c for c in ("chromium", "chromium-browser", "google-chrome")
                                      if shutil.which(c)), None)
    if not chromium or not shutil.which(chromium):
        print("skipped: no chromium (Debian: apt-get install chromium)")
        return 77

    scratch = tempfile.mkdtemp(prefix="topolatent_report_browser_")
    try:
        pictures = {}
        if args.report:
            report = os.path.abspath(args.report)
        else:
            out = os.path.abspath(args.keep) if args.keep else os.path.join(scratch, "experiment")
            if args.keep and os.path.exists(out):
                shutil.rmtree(out)
            pictures = fake_experiment(out)
            if args.via_tl_experiment:
                command = [os.path.join(os.path.abspath(args.build), "apps", "tl_experiment"),
                           experiment_file(out), "--report-only", "--out", out]
                os.remove(os.path.join(out, "summary.json"))
            else:
                command = [os.path.join(os.path.abspath(args.build), "tests", "topolatent_tests"),
                           "-tc=*TL_HTML_REPORT_DIR*"]
            if not os.access(command[0], os.X_OK):
                print(f"FAIL: {command[0]} is not built")
                return 1
            written = subprocess.run(command, env=dict(os.environ, TL_HTML_REPORT_DIR=out), capture_output=True,
                                     text=True, timeout=120, cwd=REPOSITORY)
            report = os.path.join(out, "report.html")
            if written.returncode != 0 or not os.path.isfile(report):
                print(f"FAIL: the report was not written:\n{written.stdout}{written.stderr}")
                return 1
        tools = DevTools(chromium, os.path.join(scratch, "profile"))
        try:
            failures, page, session = check_page(tools, "file://" + report, not args.report, pictures,
                                                 exact_summary=not args.via_tl_experiment)
            if args.screenshot:
                height = min(int(page["scrollHeight"]), 16000)
                tools.call("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False},
                           session=session)
                shot = tools.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                                  session=session, timeout=60)
                with open(args.screenshot, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                print(f"screenshot: {args.screenshot} (1280 x {height})")
        finally:
            tools.close()
        print(f"{report}: {len(page['h2'])} sections, {len(page['images'])} images, {page['charts']} loss charts, "
              f"{page['diagrams']} diagrams, {len(page['claims'])} claims")
        if failures:
            print("FAIL:\n  " + "\n  ".join(failures))
            return 1
        print("PASS: renders, every image decoded, no request, no error in the console")
        return 0
    finally:
        if not os.environ.get("TL_KEEP_SCRATCH"):
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
