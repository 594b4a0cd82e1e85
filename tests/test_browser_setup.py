"""The README's test command on a machine without Chromium: browser tests skip with the reason, or fail in CI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def browser_tests(ci: str | None, tmp_path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env |= {"SCREENER_CHROMIUM": str(tmp_path / "no-chromium")} | ({"CI": ci} if ci else {})
    command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-rs",
               "tests/test_browser.py"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_without_chromium_the_browser_tests_are_skipped_with_the_reason(tmp_path):
    done = browser_tests(None, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "skipped" in done.stdout and "apt-get install chromium fonts-noto-cjk" in done.stdout
    assert "failed" not in done.stdout and "error" not in done.stdout.lower().replace("stderr", "")


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_missing_chromium_fails_the_browser_tests(tmp_path, ci):
    done = browser_tests(ci, tmp_path)
    assert done.returncode == 1 and "CI must run the browser tests" in done.stdout


def test_each_readme_setup_command_makes_its_own_venv():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    venvs = [line.split("python3 -m venv ")[1].split()[0] for line in readme.splitlines()
             if line.startswith("python3 -m venv ")]
    assert len(venvs) == 2 and len(set(venvs)) == 2, venvs


def test_ci_installs_chromium_and_cjk_fonts_and_runs_as_ci():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "missing+=(chromium)" in script and "missing+=(fonts-noto-cjk)" in script
    assert "export CI=true" in script
