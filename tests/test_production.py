"""The production build: static files collected into the manifest storage (hashed names,
compressed copies) and pages that name them, served by WhiteNoise with debug off."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client as HttpClient

BASE_DIR = Path(settings.BASE_DIR)
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
SOURCE_MAP = re.compile(rb"[#@]\s*sourceMappingURL=(\S+?)(?:\s*\*/)?\s*$", re.MULTILINE)
HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")
STATIC_REFERENCE = re.compile(r"""(?:href|src)="(/static/[^"?#]+)""")


def test_every_source_map_a_vendored_file_names_is_vendored_too():
    """The manifest storage rewrites a sourceMappingURL to the map's hashed name and stops the
    build when the map is missing; every vendored file names only maps that are there."""
    missing = []
    for path in sorted((BASE_DIR / "static").rglob("*")):
        if path.suffix not in (".js", ".css") or not path.is_file():
            continue
        for target in SOURCE_MAP.findall(path.read_bytes()):
            if not (path.parent / target.decode()).is_file():
                missing.append(f"{path.relative_to(BASE_DIR)} -> {target.decode()}")
    assert missing == []


def test_the_documented_collectstatic_runs_with_production_settings(tmp_path):
    """The README's command, in a process of its own with debug off and no .env values."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": "x",
        "ALLOWED_HOSTS": "localhost",
        "STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    for name in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "STATIC_MANIFEST"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    assert HASHED.search(manifest["vendor/chartjs/chart.umd.min.js"])


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """``collectstatic`` as the Dockerfile and CI run it: the manifest storage, debug off."""
    from django.test import override_settings

    root = tmp_path_factory.mktemp("staticfiles")
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    with override_settings(STATIC_ROOT=str(root), STORAGES=storages, DEBUG=False):
        call_command("collectstatic", "--noinput", verbosity=0, stdout=io.StringIO())
    return root


def test_collectstatic_builds_the_manifest_with_every_vendored_file(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    for name in (
        "vendor/chartjs/chart.umd.min.js",
        "vendor/bootstrap/bootstrap.bundle.min.js",
        "vendor/bootstrap/bootstrap.min.css",
        "vendor/htmx/htmx.min.js",
        "vendor/bootstrap-icons/bootstrap-icons.min.css",
        "css/app.css",
        "js/app.js",
        "img/favicon.svg",
    ):
        assert HASHED.search(manifest[name]), name
        assert (collected / manifest[name]).is_file()
        assert (collected / (manifest[name] + ".gz")).is_file()
    # The icon font is named from the stylesheet (relative to it) by its hashed name.
    icons_css = (collected / manifest["vendor/bootstrap-icons/bootstrap-icons.min.css"]).read_text()
    font = manifest["vendor/bootstrap-icons/fonts/bootstrap-icons.woff2"]
    assert f'url("{font.removeprefix("vendor/bootstrap-icons/")}' in icons_css


@pytest.fixture
def production(collected, settings):
    settings.DEBUG = False
    settings.STATIC_ROOT = str(collected)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    return settings


def _static_references(body: str) -> list[str]:
    return sorted(set(STATIC_REFERENCE.findall(body)))


@pytest.mark.django_db
def test_a_page_with_debug_off_names_hashed_files_that_whitenoise_serves(production, admin_user):
    browser = HttpClient()  # a new client: WhiteNoise reads the collected files as it starts
    login_page = browser.get("/accounts/login/")
    assert login_page.status_code == 200
    browser.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    page = browser.get("/settings/")
    assert page.status_code == 200
    references = _static_references(login_page.content.decode() + page.content.decode())
    assert any("bootstrap.min" in ref for ref in references)
    assert any("htmx.min" in ref for ref in references)
    for reference in references:
        assert HASHED.search(reference), reference
        response = browser.get(reference)
        assert response.status_code == 200, reference
        # Hashed names never change content: they are cached for good.
        assert "immutable" in response["Cache-Control"], reference
        body = b"".join(response.streaming_content)
        assert body, reference


# --- The image, compose and CI run the same build and server ---------------------------------------
def _manage_commands(text: str) -> set[str]:
    return set(re.findall(r"manage\.py (compilemessages|collectstatic)[^\\\n&]*", text))


def test_every_build_step_of_the_image_runs_in_ci_with_debug_off():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    smoke = (BASE_DIR / ".ci" / "prod_smoke").read_text()
    build = _manage_commands(dockerfile)
    assert build == {"compilemessages", "collectstatic"}
    assert build <= _manage_commands(smoke)
    for line in dockerfile.splitlines():
        if "manage.py" in line:
            assert "DJANGO_DEBUG=0" in line, line
    assert "export DJANGO_DEBUG=0" in smoke
    assert ".ci/prod_smoke" in (BASE_DIR / ".ci" / "run").read_text()


def test_gunicorn_runs_with_one_configuration_that_caps_requests():
    from gunicorn.config import Config

    config = Config()
    namespace: dict = {}
    exec((BASE_DIR / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 - our own file
    for name in ("bind", "workers", "timeout", "limit_request_line", "limit_request_fields"):
        config.set(name, namespace[name])
    config.set("limit_request_field_size", namespace["limit_request_field_size"])
    assert 0 < config.limit_request_line <= 8190
    assert 0 < config.limit_request_fields <= 100
    assert 0 < config.limit_request_field_size <= 8190
    assert config.timeout <= 120
    assert config.bind == ["0.0.0.0:8000"]
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    assert '"gunicorn", "-c", "gunicorn.conf.py"' in (BASE_DIR / "Dockerfile").read_text()
    assert "gunicorn -c gunicorn.conf.py" in compose
    assert 'gunicorn" -c gunicorn.conf.py' in (BASE_DIR / ".ci" / "prod_smoke").read_text()
    assert "client_max_body_size" in compose
