"""The CI's fallback audit (.ci/audit_pypi.py): what counts as audited, what fails the run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_pypi", ROOT / ".ci" / "audit_pypi.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


audit = load()


def index(projects: dict[str, dict[str, Any]], releases: dict[str, dict[str, Any]] | None = None) -> Any:
    """A PyPI that serves project JSON for `projects` and per-release JSON only for `releases`."""

    def fetch(url: str) -> dict[str, Any] | None:
        path = url.removeprefix(audit.INDEX + "/").removesuffix("/json")
        if path in (releases or {}):
            return (releases or {})[path]
        return projects.get(path)

    return fetch


def project(latest: str, *vulns: dict[str, Any]) -> dict[str, Any]:
    return {"info": {"version": latest}, "vulnerabilities": list(vulns)}


def test_pins_read_names_normalised_once_with_extras_and_markers_dropped() -> None:
    lines = [
        "Django==6.1.3\n",
        "    # via -r requirements.in\n",
        "cachecontrol[filecache]==0.14.4\n",
        "zope.interface==8.0 ; python_version >= '3.12'\n",
        "django==6.1.3\n",
        "-e .\n",
    ]
    assert audit.pins(lines) == [("cachecontrol", "0.14.4"), ("django", "6.1.3"), ("zope-interface", "8.0")]


def test_a_latest_pin_is_audited_from_the_project_json() -> None:
    fetch = index({"django": project("6.1.3")})
    verdict = audit.judge("django", "6.1.3", fetch)
    assert verdict.audited
    assert verdict.advisories == []


def test_an_advisory_on_the_latest_release_is_reported_unless_withdrawn() -> None:
    fetch = index({"django": project("6.1.3", {"id": "PYSEC-1"}, {"id": "GHSA-2", "withdrawn": "2026-01-01"})})
    assert audit.judge("django", "6.1.3", fetch).advisories == ["PYSEC-1"]


def test_an_older_pin_is_not_audited_from_the_latest_releases_data() -> None:
    fetch = index({"django": project("6.1.3", {"id": "PYSEC-1"})})
    verdict = audit.judge("django", "6.0.0", fetch)
    assert not verdict.audited
    assert verdict.advisories == []
    assert "6.1.3" in verdict.reason


def test_the_per_release_json_wins_where_it_is_served() -> None:
    fetch = index({"django": project("6.1.3")}, {"django/6.0.0": {"vulnerabilities": [{"id": "PYSEC-9"}]}})
    verdict = audit.judge("django", "6.0.0", fetch)
    assert verdict.audited
    assert verdict.advisories == ["PYSEC-9"]


def test_the_run_fails_on_an_advisory_and_passes_without(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pins = tmp_path / "requirements.txt"
    pins.write_text("django==6.1.3\nnh3==0.3.0\n")
    clean = index({"django": project("6.1.3"), "nh3": project("0.3.0")})
    assert audit.main([str(pins)], clean) == 0
    assert "2 of 2 pins audited, 0 with advisories" in capsys.readouterr().out
    bad = index({"django": project("6.1.3", {"id": "PYSEC-1"}), "nh3": project("0.4.0")})
    assert audit.main([str(pins)], bad) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE django==6.1.3: PYSEC-1" in out
    assert "not audited: nh3==0.3.0" in out
    assert "1 of 2 pins audited" in out
