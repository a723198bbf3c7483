"""The offline page code's static files: the service worker keeps every module of
static/js/offline/, and in production the modules import one another by the hashed names
the worker keeps (medtech.storage.StaticStorage)."""

import re
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings

from mar.views.offline import PRECACHED_STATIC

MODULES = Path(settings.BASE_DIR) / "static" / "js" / "offline"


def test_the_service_worker_keeps_every_offline_module():
    modules = {f"js/offline/{path.name}" for path in MODULES.glob("*.js")}

    assert "js/offline/main.js" in modules
    assert modules <= set(PRECACHED_STATIC)


def test_the_modules_import_each_other_by_the_hashed_names_in_production(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(MODULES, source / "js" / "offline")  # only these: the rest is slow
    storages = settings.STORAGES | {"staticfiles": {"BACKEND": "medtech.storage.StaticStorage"}}
    collected = tmp_path / "collected"

    with override_settings(
        STATIC_ROOT=collected,
        STATICFILES_DIRS=[source],
        STATICFILES_FINDERS=["django.contrib.staticfiles.finders.FileSystemFinder"],
        STORAGES=storages,
    ):
        call_command("collectstatic", "--no-input", verbosity=0)

    (main,) = (collected / "js" / "offline").glob("main.*.js")
    imported = re.findall(r'from "\./([^"]+)";', main.read_text())
    assert len(imported) == len(list(MODULES.glob("*.js"))) - 1
    assert all(re.fullmatch(r"\w+\.[0-9a-f]{12}\.js", name) for name in imported), imported
    assert all((collected / "js" / "offline" / name).is_file() for name in imported)
