"""The static files' storage in production.

WhiteNoise's compressed, hashed names, plus, in our own ES modules (static/js/offline/),
the imports rewritten to the hashed names: main.js imports "./store.js" and the others,
and the service worker keeps the hashed names (mar.views.offline.PRECACHED_STATIC), so an
import of the plain name would miss the kept copy on a tablet without Wi-Fi. Only our
folder: third-party files (django-htmx's extensions) name files that are not there.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage

# import { a, b } from "./store.js";  ->  import { a, b } from "./store.0123abcd.js";
MODULE_IMPORT = (
    r"""(?P<matched>import(?s:(?P<import>[\s\{].*?))\s*from\s*['"](?P<url>\./[^'"]+)['"]\s*;)""",
    """import%(import)s from "%(url)s";""",
)


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = (
        *CompressedManifestStaticFilesStorage.patterns,
        ("js/offline/*.js", (MODULE_IMPORT,)),
    )
