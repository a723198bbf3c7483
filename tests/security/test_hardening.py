"""Production hardening: ``check --deploy`` with docker-compose's environment, the Content
Security Policy, templates without inline script or style, and Celery tasks that carry
ids, never health information."""

from __future__ import annotations

import ast
import inspect
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.urls import reverse

from medtech.celery import app
from tests.factories import MedCartFactory, UserFactory

ROOT = Path(settings.BASE_DIR)
# The project's own apps (and the project package), as installed.
APPS = tuple(
    name for name in [*settings.INSTALLED_APPS, "medtech"] if (ROOT / name / "__init__.py").exists()
)


# --- check --deploy -------------------------------------------------------------------------


def compose_environment() -> dict[str, str]:
    """The app's environment as docker-compose.yml sets it, with the secrets an operator
    puts in .env (``${VAR:?...}``) filled in and compose's defaults (``${VAR:-x}``) applied."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    given = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "ALLOWED_HOSTS": "emar.example.org",
    }

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(3) or ""
        if match.group(2) == ":?" and name not in given:
            pytest.fail(f"docker-compose.yml requires {name}; add it to this test's values")
        return given.get(name, default if match.group(2) == ":-" else "")

    pattern = re.compile(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}")
    return {
        name: pattern.sub(substitute, str(value))
        for name, value in compose["x-app"]["environment"].items()
    }


def test_docker_compose_sets_production_with_debug_off():
    environment = compose_environment()

    assert environment["DEBUG"] == "0"
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["REDIS_URL"].startswith("redis://")


def test_production_settings_pass_the_deploy_check_at_warning_level():
    """The README's command: DEBUG=0 and docker-compose's environment, nothing else."""
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT))}
    environment |= compose_environment()

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_security_settings_come_from_the_environment():
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_PROXY_SSL_HEADER)"
    )
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT))}
    base |= compose_environment() | {"DJANGO_SETTINGS_MODULE": "medtech.settings"}

    def run(**overrides: str) -> str:
        return subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=ROOT,
            env=base | overrides,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout.strip()

    secure = run()
    relaxed = run(SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0")

    assert secure == "True True True 31536000 True ('HTTP_X_FORWARDED_PROTO', 'https')"
    assert relaxed.startswith("False True True 0 ")


# --- Content Security Policy ----------------------------------------------------------------


@pytest.mark.django_db
def test_every_page_carries_a_csp_without_unsafe_inline_or_eval(client):
    header = client.get("/login/")["Content-Security-Policy"]
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in header.split(";") if part.strip()
    )

    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"


@pytest.mark.django_db
def test_only_the_offline_pin_switchs_pages_may_compile_webassembly(client):
    cart = MedCartFactory()
    client.force_login(UserFactory(facility=cart.facility))

    pages = {
        "cart's pass": client.get(reverse("mar:pass_cart", args=[cart.public_id])),
        "lock screen": client.get(reverse("staff:lock")),
        "home": client.get(reverse("home")),
        "API docs": client.get(reverse("api:docs")),
    }

    script_src = {
        name: next(
            part.strip()
            for part in page["Content-Security-Policy"].split(";")
            if part.strip().startswith("script-src")
        )
        for name, page in pages.items()
    }
    assert script_src == {
        "cart's pass": "script-src 'self' 'wasm-unsafe-eval'",
        "lock screen": "script-src 'self' 'wasm-unsafe-eval'",
        "home": "script-src 'self'",
        "API docs": "script-src 'self'",
    }


INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>"  # a script element without src
    r"|<style\b"  # a style element
    r"|\sstyle\s*=\s*[\"']"  # a style attribute
    r"|\son[a-z]+\s*=\s*[\"']"  # an event handler attribute
    r"|javascript:"  # a javascript: URL
    r"|\bhx-on[:-]"  # htmx's inline handlers (eval)
    r"|[\"']js:",  # htmx's evaluated values
    re.IGNORECASE,
)


def test_templates_served_as_pages_have_no_inline_script_style_or_handlers():
    # templates/print/ is rendered to PDF by WeasyPrint, never served as a page.
    pages = [
        path
        for path in (ROOT / "templates").rglob("*.html")
        if "print" not in path.relative_to(ROOT / "templates").parts[:1]
    ]
    found = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}: {match.group(0)}"
        for path in pages
        for text in [path.read_text()]
        for match in INLINE.finditer(text)
    ]

    assert len(pages) > 30
    assert found == []


# --- No PHI in Celery task arguments --------------------------------------------------------

ID_NAME = re.compile(r"^\w*(_id|_ids|_key|_pk)$")


def project_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.split(".")[0] in APPS}


def test_every_task_takes_only_ids():
    tasks = project_tasks()
    wrong = {
        name: [
            f"{param.name}: {param.annotation}"
            for param in inspect.signature(task.run).parameters.values()
            if not ID_NAME.match(param.name) or param.annotation not in ("int", "str", int, str)
        ]
        for name, task in tasks.items()
    }

    assert len(tasks) >= 10
    assert {name: params for name, params in wrong.items() if params} == {}


def _is_id(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return bool(ID_NAME.match(node.id))
    if isinstance(node, ast.Attribute):
        return node.attr in ("pk", "id", "public_id") or bool(ID_NAME.match(node.attr))
    return isinstance(node, ast.Constant) and isinstance(node.value, int | str)


def test_every_call_that_enqueues_a_task_passes_ids():
    calls = []
    for app_name in APPS:
        for path in (ROOT / app_name).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("delay", "enqueue", "send_task"):
                    args = node.args[1:] if name in ("enqueue", "send_task") else node.args
                    calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", args, node.keywords))

    wrong = [
        where
        for where, args, keywords in calls
        if not all(_is_id(arg) for arg in args)
        or not all(_is_id(keyword.value) for keyword in keywords)
    ]

    assert len(calls) >= 3
    assert wrong == []


@pytest.mark.django_db
def test_the_api_docs_run_without_inline_script(client):
    client.force_login(UserFactory())
    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")
    policy = page["Content-Security-Policy"]
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))

    assert page.status_code == 200
    assert "unsafe" not in script_src
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.content.decode())
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
