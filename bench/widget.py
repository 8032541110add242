"""What the widget costs a clinic's page, measured in Debian's Chromium.

Usage: python -m bench.widget [--rounds N]
The same demo page is loaded with its script tag and, as the baseline, with
the tag taken out, alternating round by round so both see the same noisy
machine. Reported: page load time (the load event), the time until the launcher
is on screen, the JS heap in use, and the bytes the widget adds (as sent, gzip).
No chat server is needed: the widget's cost is paid before the first message.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
from typing import Dict, List

from playwright.sync_api import sync_playwright

from bot.core.data import clinics_file as clinics_file_of
from bot.core.paths import ROOT
from bot.core.settings import settings_from
from bot.web.app import create_app
from tests.support.browser import launch_chromium
from tests.support.servers import WebServer, free_port

OUT = ROOT / "var" / "bench"


def load_once(browser, url: str, with_widget: bool) -> Dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()

    def serve_page(route):
        html = route.fetch().text()
        if not with_widget:
            html = re.sub(r'<script src="[^"]*/widget\.js"[^>]*></script>', "", html)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    page.route("**/demo/stl", serve_page)
    sizes: List[int] = []
    page.on("response", lambda r: sizes.append(int(r.headers.get("content-length") or 0))
            if "/widget" in r.url else None)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url, wait_until="load")
    load = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")
    ready = load
    if with_widget:
        page.get_by_role("button", name="Chat with the assistant of More 4 Life Physical Therapy").wait_for()
        ready = page.evaluate("() => performance.now()")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    context.close()
    return {"load_ms": load, "ready_ms": ready, "heap_kib": metrics["JSHeapUsedSize"] / 1024,
            "widget_bytes": float(sum(sizes))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    settings = dataclasses.replace(settings_from({}), rasa_url="http://127.0.0.1:9")  # the page load only: no chat
    runs: Dict[bool, List[Dict[str, float]]] = {True: [], False: []}
    app = create_app(settings, clinics_file_of(settings))  # data/clinics.yml, whatever var/medius.db holds
    with WebServer(app, free_port()) as site, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for round_ in range(args.rounds + 2):
            for with_widget in ((True, False) if round_ % 2 else (False, True)):
                result = load_once(browser, f"{site.url}/demo/stl", with_widget)
                if round_ >= 2:  # the first rounds warm up the browser and the server
                    runs[with_widget].append(result)
        browser.close()
    lines = [f"Widget cost on /demo/stl, {args.rounds} loads each, Chromium headless (median):",
             f"{'':28}{'with widget':>14}{'no widget':>14}{'ratio':>8}"]
    for key, label in (("load_ms", "page load event (ms)"), ("ready_ms", "page ready, launcher on (ms)"),
                       ("heap_kib", "JS heap used (KiB)")):
        widget = statistics.median(r[key] for r in runs[True])
        plain = statistics.median(r[key] for r in runs[False])
        lines.append(f"{label:28}{widget:>14.1f}{plain:>14.1f}{widget / plain:>8.2f}")
    lines.append(f"{'widget bytes sent (gzip)':28}{statistics.median(r['widget_bytes'] for r in runs[True]):>14.0f}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "widget.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
