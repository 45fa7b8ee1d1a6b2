"""reauto's shape: the package layers of ``[tool.importlinter]``, and modules and functions kept small."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reauto"
#: Alembic's generated revisions are left as written.
EXEMPT = PACKAGE / "migrations" / "versions"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

LINT = ("import sys\n"
        "from importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))\n")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if EXEMPT not in p.parents)


def test_the_import_contracts_are_kept() -> None:
    """``lint-imports`` on pyproject.toml: no package imports a layer above its own (nor a sibling)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", LINT], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_module_is_over_500_lines() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in _modules()}
    long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_is_over_80_lines() -> None:
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                lines = (node.end_lineno or node.lineno) - start + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


#: HTTP client stacks other than httpx, reauto's one: aiohttp's client, the standard library's, requests.
OTHER_HTTP_CLIENTS = ("aiohttp", "urllib.request", "http.client", "requests", "urllib3")
#: The one module that may use aiohttp, for its server (the dialer's /metrics), never its client.
AIOHTTP_SERVER = PACKAGE / "monitoring" / "server.py"


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement binds (``from a import b`` gives ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = "." * node.level + (node.module or "")
    return [f"{base}.{alias.name}" for alias in node.names]


def _other_http_client(name: str, path: Path) -> bool:
    if path == AIOHTTP_SERVER and (name == "aiohttp.web" or name.startswith("aiohttp.web.")):
        return False
    return any(name == stack or name.startswith(stack + ".") for stack in OTHER_HTTP_CLIENTS)


def test_httpx_is_the_only_http_client_stack() -> None:
    """Outgoing HTTP goes through httpx; only the /metrics server may import ``aiohttp.web``."""
    found = [f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
             for path in _modules() for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, (ast.Import, ast.ImportFrom))
             for name in _imported(node) if _other_http_client(name, path)]
    assert not found, f"HTTP clients other than httpx: {found}"


@pytest.mark.parametrize(("family", "base"), [("reauto.stt", "reauto.stt.base:STTProvider"),
                                            ("reauto.tts", "reauto.tts.base:TTSProvider"),
                                            ("reauto.telephony", "reauto.telephony.base:Telephony"),
                                            ("reauto.export.targets", "reauto.export.targets.base:ExportTarget")])
def test_every_provider_is_built_one_way_by_its_registry(family, base):
    """Each name of a family's registry is a class with a ``from_settings`` of its own (what
    ``Registry.create`` calls), so adding a provider is its module and its registry line."""
    import importlib

    from reauto.providers import ProviderUnavailable

    module, _, name = base.partition(":")
    declared = getattr(importlib.import_module(module), name).from_settings.__func__
    registry = importlib.import_module(family).REGISTRY
    for provider_name in registry.names:
        try:
            provider = registry.load(provider_name)
        except ProviderUnavailable:  # an optional extra not installed here
            continue
        assert provider.from_settings.__func__ is not declared, f"{provider_name} has no from_settings of its own"


def test_a_provider_that_needs_no_settings_is_built_by_the_base_from_settings():
    from reauto.config import Settings
    from reauto.export.targets.base import ExportTarget

    class Null(ExportTarget):
        name = "null"

        async def send(self, record, key):
            return key

    assert isinstance(Null.from_settings(Settings()), Null)


FAMILIES = [("stt", "reauto.stt"), ("tts", "reauto.tts"), ("telephony", "reauto.telephony"),
            ("llm", "reauto.llm"), ("export", "reauto.export.targets")]


@pytest.mark.parametrize(("family", "package"), FAMILIES)
def test_every_catalog_name_has_a_registry_entry_and_every_registry_entry_a_catalog_name(family, package):
    """Names are listed once, in :mod:`reauto.providercatalog`: a family's registry knows exactly its names,
    so adding a provider is its module, its catalog line and (when it has settings) its section."""
    import importlib

    from reauto import providercatalog

    registry = importlib.import_module(package).REGISTRY
    assert set(registry.names) == set(providercatalog.FAMILIES[family]), family
    assert registry.kind == providercatalog.KINDS[family]
    assert set(providercatalog.FAMILIES) == {f for f, _ in FAMILIES}


def test_settings_that_name_a_provider_allow_the_catalog_names():
    from typing import get_args

    from reauto import providercatalog
    from reauto.campaign.model import Campaign
    from reauto.config import LlmSettings, SttSettings, TtsSettings

    def allowed(model, field):
        return set(get_args(model.model_fields[field].annotation))

    assert allowed(SttSettings, "provider") == set(providercatalog.names("stt"))
    assert allowed(TtsSettings, "local") == set(providercatalog.names("tts", "local"))
    assert allowed(TtsSettings, "premium") == {*providercatalog.names("tts", "premium"), "none"}
    assert allowed(Campaign, "telephony") == set(providercatalog.names("telephony"))
    assert allowed(LlmSettings, "brain") == {*providercatalog.names("llm"), "scripted"}
    assert set(providercatalog.names("tts")) == set(providercatalog.names("tts", "local")) | set(
        providercatalog.names("tts", "premium")), "every TTS provider fills a tier"


def test_a_provider_section_is_named_after_a_provider_of_its_family():
    """``[tts.<name>]`` and ``[export.<name>]`` hold one provider's own settings: ``<name>`` is in the catalog."""
    from pydantic import BaseModel

    from reauto import providercatalog
    from reauto.config import ExportSettings, SttSettings, TtsSettings

    for family, section in (("stt", SttSettings), ("tts", TtsSettings), ("export", ExportSettings)):
        tables = [n for n, f in section.model_fields.items()
                  if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)]
        for name in tables:
            assert name in providercatalog.FAMILIES[family] or name.replace("_", "-") in providercatalog.FAMILIES[
                family], f"[{family}.{name}] names no {family} provider"


def test_the_catalog_imports_no_provider():
    """The settings import the catalog: it must stay data (no provider module, no optional extra)."""
    code = ("import sys, reauto.providercatalog, reauto.config\n"
            "loaded = [m for m in sys.modules if m.startswith(('reauto.tts', 'reauto.stt', 'reauto.export',"
            " 'reauto.telephony', 'reauto.llm'))]\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr
