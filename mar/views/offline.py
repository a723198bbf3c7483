"""The installable, offline-capable med pass: the service worker and the web app manifest.

Both are served from the site root so the worker's scope can be "/" (a script under
/static/ could only control /static/). The worker itself is templates/offline/sw.js;
the page side is static/js/offline/ (main.js and the modules it imports).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

# What the med pass needs to draw itself offline; kept by the worker at install.
PRECACHED_STATIC = [
    "css/app.css",
    "css/offline.css",
    "vendor/htmx.min.js",
    "js/tablet.js",
    "vendor/hash-wasm-argon2.umd.min.js",
    # The offline modules: main.js imports the others (kept under the same hashed names
    # that medtech.storage.StaticStorage writes into the imports).
    "js/offline/main.js",
    "js/offline/state.js",
    "js/offline/store.js",
    "js/offline/bar.js",
    "js/offline/pin.js",
    "js/offline/panels.js",
    "js/offline/sync.js",
    "icons/icon-192.png",
]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    static_urls = [static(path) for path in PRECACHED_STATIC]
    context = {
        # A new version whenever a precached file's URL changes (hashed names in
        # production), so tablets pick up new static files.
        "version": hashlib.sha256("|".join(static_urls).encode()).hexdigest()[:12],
        "static_urls": static_urls,
        "static_prefix": static(""),
        "page_prefix": reverse("mar:pass_start"),
        "media_prefix": "/" + settings.MEDIA_URL.lstrip("/"),
    }
    body = render_to_string("offline/sw.js", context, request=request)
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    start = reverse("mar:pass_start")
    response = JsonResponse(
        {
            "name": "MedTech eMAR med pass",
            "short_name": "Med pass",
            "description": "Chart the med pass on the cart's tablet, with or without Wi-Fi.",
            "id": start,
            "start_url": start,
            "scope": "/",
            "display": "standalone",
            "orientation": "any",
            "background_color": "#f6f7f9",
            "theme_color": "#0b5c8c",
            "icons": [
                {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
                {
                    "src": static("icons/icon-maskable-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        },
        content_type="application/manifest+json",
    )
    response["Cache-Control"] = "no-cache"
    return response
