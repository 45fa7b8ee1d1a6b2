"""reauto installed from its wheel, outside the source tree: `reauto init`, `db upgrade`, a demo dial."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reauto.cli.init_cmd import starter_files

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.unit
def test_the_starter_project_is_the_repository_s_own_settings_demo_campaign_and_prompts():
    files = starter_files()
    assert {"reauto.toml", "campaigns/demo.yaml", "leads.csv", "prompts/agent.txt"} <= set(files)
    for name, content in files.items():
        if name != "leads.csv":  # the same files as the repository's (copy them to reauto/starter/ when they change)
            assert content == (ROOT / name).read_bytes(), f"reauto/starter/{name} differs from {name}"
    assert {n.removeprefix("prompts/") for n in files if n.startswith("prompts/")} == {
        str(p.relative_to(ROOT / "prompts")) for p in (ROOT / "prompts").rglob("*.txt")}


@pytest.mark.integration
@pytest.mark.slow
def test_a_wheel_installed_elsewhere_initialises_migrates_and_dials_the_demo(tmp_path):
    wheels, target, project, source = tmp_path / "wheels", tmp_path / "site", tmp_path / "work", tmp_path / "src"
    # built from a copy: setuptools leaves build/ and egg-info next to the sources it builds
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                                 "tests", "docs", "spool", "*.db", ".coverage*"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), str(source)], check=True, capture_output=True, timeout=600)
    wheel = next(wheels.glob("reauto-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    project.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env = {k: v for k, v in env.items() if not k.startswith("REAUTO_") or k.startswith("REAUTO_TEST_")}

    def reauto(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "reauto.cli.main", *args], cwd=cwd, env=env, text=True,
                              capture_output=True, timeout=900)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    where = subprocess.run([sys.executable, "-c", "import reauto; print(reauto.__file__)"], cwd=project, env=env,
                           text=True, capture_output=True, check=True).stdout.strip()
    assert where.startswith(str(target)), where  # the wheel's reauto, not the source tree's
    reauto("init", "demo", cwd=project)
    demo = project / "demo"
    assert (demo / "campaigns" / "demo.yaml").is_file() and (demo / "prompts" / "agent.txt").is_file()
    reauto("db", "upgrade", cwd=demo)
    assert (demo / "reauto.db").is_file()
    dialed = json.loads(reauto("dial", "campaigns/demo.yaml", "--at", "2026-11-24T15:00:00-06:00", "--max-calls", "1",
                               "--json", cwd=demo).stdout)
    assert len(dialed["calls"]) == 1 and dialed["calls"][0]["status"] in ("completed", "voicemail")
