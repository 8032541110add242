"""The widget's web server: widget.js and its CSS, per-clinic widget settings, demo clinic pages.

Run with `python -m bot web` (uvicorn). The chat itself goes from the browser
straight to Rasa's widget channel (bot/web/channel.py), at MEDIUS_CHAT_URL.
"""
from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any, Dict, Optional

import yaml
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.clinics import Clinic, ClinicDirectory
from bot.data import clinics_for
from bot.paths import DATA
from bot.settings import Settings

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
DEMO_PAGES = {"": "Home", "services": "Services", "privacy": "Privacy policy"}
_NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def widget_texts(path: Path = DATA / "widget.yml") -> Dict[str, Any]:
    """The widget's fixed texts and starter quick replies; a missing one stops start-up."""
    texts = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("widget") or {}
    missing = {"disclaimer", "privacy_note", "unreachable", "starters"} - set(texts)
    if missing:
        raise ValueError(f"{path}: widget texts missing: {', '.join(sorted(missing))}")
    if not all(isinstance(b, dict) and b.get("title") and b.get("payload") for b in texts["starters"]):
        raise ValueError(f"{path}: every starter needs a title and a payload")
    return texts


def widget_config(clinic: Clinic, settings: Settings, texts: Dict[str, Any]) -> Dict[str, Any]:
    """What the widget needs to speak for one clinic: public profile fields only, never staff details."""
    return {
        "clinic": clinic.id,
        "name": clinic.name,
        "colour": clinic.colour,
        "greeting": clinic.greeting,
        "disclaimer": texts["disclaimer"],
        "privacy_note": texts["privacy_note"],
        "privacy_url": clinic.privacy_url,
        "unreachable": texts["unreachable"],
        "contact": clinic.contact_phrase(),  # "call <name> at <phone>", as the bot says it
        "chat_url": settings.chat_url,
        "timeout_ms": settings.widget_timeout_ms,
        "starters": [{"title": str(b["title"]), "payload": str(b["payload"])} for b in texts["starters"]],
    }


def create_app(settings: Settings, clinics: Optional[ClinicDirectory] = None) -> Starlette:
    clinics = clinics or clinics_for(settings)
    texts = widget_texts()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "clinics": [clinic.id for clinic in clinics.all()]})

    async def static_file(request: Request) -> Response:
        name = request.url.path.lstrip("/")
        return FileResponse(STATIC / name, headers=_NO_CACHE)

    async def config(request: Request) -> Response:
        clinic = clinics.get(request.path_params["clinic"])
        if clinic is None:
            return JSONResponse({"error": "unknown_clinic"}, status_code=404)
        return JSONResponse(widget_config(clinic, settings, texts), headers=_NO_CACHE)

    async def demo(request: Request) -> Response:
        clinic = clinics.get(request.path_params["clinic"])
        page = request.path_params.get("page", "")
        if clinic is None or page not in DEMO_PAGES:
            return not_found(request)
        return HTMLResponse(demo_page(clinic, page, str(request.base_url).rstrip("/")), headers=_NO_CACHE)

    async def index(request: Request) -> Response:
        links = "".join(f'<li><a href="/demo/{html.escape(c.id)}">{html.escape(c.name)}</a></li>' for c in clinics.all())
        return HTMLResponse(_template("index.html").substitute(links=links))

    def not_found(request: Request, exc: Exception = None) -> Response:
        return HTMLResponse("<!doctype html><title>Not found</title><p>Page not found.</p>", status_code=404)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/healthz", healthz),
        Route("/widget.js", static_file),
        Route("/widget.css", static_file),
        Route("/widget/config/{clinic}.json", config),
        Route("/demo/{clinic}", demo),
        Route("/demo/{clinic}/{page}", demo),
    ]
    cors = Middleware(CORSMiddleware, allow_origins=list(clinics.allowed_origins()), allow_methods=["GET"])
    gzip = Middleware(GZipMiddleware, minimum_size=500)  # widget.js goes to every page view of every clinic
    return Starlette(routes=routes, middleware=[cors, gzip], exception_handlers={404: not_found})


def demo_page(clinic: Clinic, page: str, base_url: str) -> str:
    """A plain clinic website page with the widget embedded exactly as a clinic would paste it."""
    current = ' aria-current="page"'
    nav = "".join(
        f'<li><a href="/demo/{clinic.id}{"/" + key if key else ""}"{current if key == page else ""}>{label}</a></li>'
        for key, label in DEMO_PAGES.items()
    )
    values = {key: html.escape(str(value)) for key, value in {
        "name": clinic.name, "city": clinic.city, "hours": clinic.hours, "colour": clinic.colour,
        "phone": clinic.phone or "Contact us through this website", "clinic": clinic.id,
        "title": DEMO_PAGES[page], "widget_src": f"{base_url}/widget.js",
    }.items()}
    body = _template(f"demo_{page or 'home'}.html").substitute(values)
    return _template("demo.html").substitute(values, nav=nav, body=body)
