"""The cabinet's Card page on a running app: Lighthouse (npm, Debian's Chromium) scores, page weight as
transferred (gzip), installability as Chromium reports it, and server time over 200 requests.

    .venv/bin/python bench/cabinet.py                 # starts its own app on a seeded SQLite demo
    .venv/bin/python bench/cabinet.py --base http://127.0.0.1:8000   # a `make run` app (same var/)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, free_port, percentile, start_server, write_result

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LIGHTHOUSE = ROOT / "node_modules/.bin/lighthouse"
TARGETS = {"performance_min": 95, "accessibility_min": 95, "page_weight_kb_max": 100, "server_p50_ms_max": 20}


async def session_for_demo_member(env: dict[str, str]) -> str:
    """A session cookie minted with the app's own secret for the first demo member."""
    from shared.config import load_settings
    from shared.core import Core
    from shared.demo import demo_phone
    from shared.members import find_by_phone
    from webapp.cabinet.session_cookie import session_cookie

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = load_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    core = Core(settings)
    try:
        async with core.reading() as session:
            member = await find_by_phone(session, demo_phone(0))
        if member is None:
            raise SystemExit("no demo member: run `loyalty demo` first")
        return session_cookie(settings, member.id, core.clock.now()).value
    finally:
        await core.close()


def server_times(url: str, cookie: str, count: int = 200) -> dict[str, float]:
    with httpx.Client(cookies={"loyalty_session": cookie}, headers={"Accept-Encoding": "gzip"}) as http:
        for _ in range(20):
            http.get(url).raise_for_status()
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            http.get(url).raise_for_status()
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "requests": count,
        "p50_ms": round(percentile(samples, 50), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "p99_ms": round(percentile(samples, 99), 2),
    }


def transferred(base: str, cookie: str) -> dict[str, int]:
    """Bytes on the wire (gzip) of the page and everything it loads on first visit."""
    paths = [
        "/cabinet/card",
        "/static/cabinet.css",
        "/static/cabinet.js",
        "/static/htmx.min.js",
        "/cabinet/manifest.webmanifest",
        "/static/icons/icon.svg",
    ]
    sizes = {}
    with httpx.Client(cookies={"loyalty_session": cookie}, headers={"Accept-Encoding": "gzip"}) as http:
        for path in paths:
            answer = http.get(base + path)
            answer.raise_for_status()
            sizes[path] = answer.num_bytes_downloaded
    return sizes


def lighthouse(url: str, cookie: str, out: Path) -> dict[str, Any]:
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            "--only-categories=performance,accessibility,best-practices",
            f"--chrome-flags={' '.join(FLAGS)}",
            f"--extra-headers={json.dumps({'Cookie': f'loyalty_session={cookie}'})}",
        ],
        check=True,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        cwd=ROOT,
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    scores = {key: round(category["score"] * 100) for key, category in report["categories"].items()}
    audits = report["audits"]
    failing = sorted(
        key
        for key, audit in audits.items()
        if audit.get("score") is not None
        and audit["score"] < 0.9
        and audit.get("scoreDisplayMode") in ("binary", "numeric")
    )
    return {
        "scores": scores,
        "total_byte_weight": int(audits["total-byte-weight"]["numericValue"]),
        "fcp_ms": round(audits["first-contentful-paint"]["numericValue"]),
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
        "cls": round(audits["cumulative-layout-shift"]["numericValue"], 3),
        "audits_below_90": failing,
    }


async def installability(base: str, cookie: str, profile: Path) -> list[str]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=FLAGS)
        await context.add_cookies([{"name": "loyalty_session", "value": cookie, "url": base}])
        page = await context.new_page()
        await page.goto(base + "/cabinet/card")
        await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        cdp = await context.new_cdp_session(page)
        errors: list[str] = []
        for _ in range(50):
            errors = [e["errorId"] for e in (await cdp.send("Page.getInstallabilityErrors"))["installabilityErrors"]]
            if not errors:
                break
            await asyncio.sleep(0.2)
        await context.close()
        return errors


def markdown(data: dict[str, Any]) -> list[str]:
    s, lh, t = data["server_time"], data["lighthouse"], data["targets"]
    return [
        "## Personal cabinet, Card page (`bench/cabinet.py`)",
        "",
        "Lighthouse 12 (npm, mobile preset with simulated throttling) driving Debian's Chromium against the "
        "Card page of a running app signed in as a demo member; page weight as transferred with gzip; "
        "installability as Chromium itself reports it (`Page.getInstallabilityErrors`); server time as "
        f"seen by a client over loopback, {s['requests']} sequential requests after a warm-up.",
        "",
        "| performance | accessibility | best practices | installable | page weight | FCP | LCP | TBT | "
        "server p50 | p95 |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| **{lh['scores']['performance']}** | **{lh['scores']['accessibility']}** | "
        f"{lh['scores']['best-practices']} | {'yes' if not data['installability_errors'] else 'no'} | "
        f"**{data['page_weight_kb']} KB** | {lh['fcp_ms']} ms | {lh['lcp_ms']} ms | {lh['tbt_ms']} ms | "
        f"**{s['p50_ms']} ms** | {s['p95_ms']} ms |",
        "",
        f"Targets (cabinet issue): performance ≥ {TARGETS['performance_min']}, accessibility ≥ "
        f"{TARGETS['accessibility_min']}, page weight ≤ {TARGETS['page_weight_kb_max']} KB compressed, "
        f"server p50 ≤ {TARGETS['server_p50_ms_max']} ms: **{'met' if t['met'] else 'missed'}**.",
        "",
        f"_Measured {data['at']}._",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", help="a running app, e.g. http://127.0.0.1:8000 (default: start one)")
    args = parser.parse_args()
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.base:
            base, env = args.base.rstrip("/"), {}
        else:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {
                "LOYALTY_VAR_DIR": str(work / "var"),
                "LOYALTY_PUBLIC_URL": base,
                "LOYALTY_SECRET_KEY": "bench-" + "s" * 40,
                "LOYALTY_DATABASE_URL": "",
            }
            subprocess.run(
                [sys.executable, "-m", "loyalty.cli", "db", "upgrade"],
                check=True,
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
            )
            subprocess.run(
                [sys.executable, "-m", "loyalty.cli", "demo", "--members", "20"],
                check=True,
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
            )
            server = start_server(env, port)
        try:
            cookie = asyncio.run(session_for_demo_member(env))
            url = base + "/cabinet/card"
            times = server_times(url, cookie)
            sizes = transferred(base, cookie)
            report = lighthouse(url, cookie, work / "lighthouse.json")
            errors = asyncio.run(installability(base, cookie, work / "profile"))
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
    weight_kb = round(max(report["total_byte_weight"], sum(sizes.values())) / 1024, 1)
    met = (
        report["scores"]["performance"] >= TARGETS["performance_min"]
        and report["scores"]["accessibility"] >= TARGETS["accessibility_min"]
        and weight_kb <= TARGETS["page_weight_kb_max"]
        and times["p50_ms"] <= TARGETS["server_p50_ms_max"]
        and not errors
    )
    data: dict[str, Any] = {
        "url": url,
        "lighthouse": report,
        "transferred_bytes": sizes,
        "page_weight_kb": weight_kb,
        "installability_errors": errors,
        "server_time": times,
        "targets": {**TARGETS, "met": met},
    }
    data["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data["markdown"] = markdown(data)
    print(json.dumps({k: data[k] for k in ("page_weight_kb", "installability_errors", "server_time")}, indent=2))
    print("lighthouse:", report["scores"], "below 90:", report["audits_below_90"])
    write_result("cabinet", data)


if __name__ == "__main__":
    main()
