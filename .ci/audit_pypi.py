"""Audit the pins against PyPI's advisory data where pip-audit cannot reach it.

pip-audit reads the `vulnerabilities` of PyPI's per-release JSON (`/pypi/NAME/VERSION/json`). Some
registries and mirrors serve only the project JSON (`/pypi/NAME/json`), whose `vulnerabilities` are those
of the project's latest release — the same advisory data (PyPI's, from OSV), for one version. So a pin
that is the latest release is audited here from the project JSON; an older pin is looked up per release
and, where that answers 404 too, reported as not audited (by name), never as clean.

    python .ci/audit_pypi.py requirements.txt requirements-dev.txt

Exit 1 when any pin has an advisory that is not withdrawn; 0 otherwise. Only the standard library.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
INDEX = "https://pypi.org/pypi"

Fetch = Callable[[str], dict[str, Any] | None]


@dataclass
class Verdict:
    name: str
    version: str
    audited: bool
    advisories: list[str] = field(default_factory=list)
    reason: str = ""


def pins(lines: Iterable[str]) -> list[tuple[str, str]]:
    """`name==version` lines of a pip-compile file, names normalised (PEP 503), each once."""
    found = set()
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found.add((re.sub(r"[-_.]+", "-", match[1]).lower(), match[2]))
    return sorted(found)


def fetch_json(url: str) -> dict[str, Any] | None:
    """The JSON at `url`, or None for a 404 (raises on anything else, so an outage never reads as clean)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (always https://pypi.org)
            data: dict[str, Any] = json.load(response)
            return data
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def live(entries: list[dict[str, Any]]) -> list[str]:
    return [str(entry.get("id")) for entry in entries if not entry.get("withdrawn")]


def judge(name: str, version: str, fetch: Fetch = fetch_json) -> Verdict:
    release = fetch(f"{INDEX}/{name}/{version}/json")
    if release is not None:
        return Verdict(name, version, True, live(release.get("vulnerabilities") or []))
    project = fetch(f"{INDEX}/{name}/json")
    if project is None:
        return Verdict(name, version, False, reason="not on PyPI")
    latest = str(project.get("info", {}).get("version", ""))
    if latest != version:
        return Verdict(name, version, False, reason=f"older than the latest release {latest}")
    return Verdict(name, version, True, live(project.get("vulnerabilities") or []))


def main(paths: list[str], fetch: Fetch = fetch_json) -> int:
    wanted: list[tuple[str, str]] = []
    for path in paths:
        with open(path) as handle:
            wanted.extend(pins(handle))
    wanted = sorted(set(wanted))
    try:
        with ThreadPoolExecutor(8) as pool:
            verdicts = list(pool.map(lambda pin: judge(pin[0], pin[1], fetch), wanted))
    except (urllib.error.URLError, OSError) as error:
        sys.stdout.write(f"WARNING: PyPI unreachable ({error}); no pin audited by this step\n")
        return 0
    vulnerable = [v for v in verdicts if v.advisories]
    unaudited = [v for v in verdicts if not v.audited]
    for verdict in vulnerable:
        sys.stdout.write(f"VULNERABLE {verdict.name}=={verdict.version}: {', '.join(verdict.advisories)}\n")
    for verdict in unaudited:
        sys.stdout.write(f"not audited: {verdict.name}=={verdict.version} ({verdict.reason})\n")
    audited = len(verdicts) - len(unaudited)
    sys.stdout.write(f"PyPI advisories: {audited} of {len(verdicts)} pins audited, {len(vulnerable)} with advisories\n")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
