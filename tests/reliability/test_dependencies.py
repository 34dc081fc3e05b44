"""The locked dependency set (requirements.lock, what .ci/test installs) has no known
vulnerability without a written reason (audit-exceptions.toml).

pip-audit audits the lock against PyPI's vulnerability data. From this machine (and CI)
PyPI answers only its per-project JSON, not the per-release JSON pip-audit asks for, and
OSV is unreachable; so where pip-audit reports a package as "not found", the audit falls
back to the per-project JSON, whose `vulnerabilities` are those of the latest release -
exact for a locked version that is the latest. Every runtime dependency must be audited one
way or the other; a test or bench tool that cannot be (an older release pinned by its own
Python requirement) is reported by name, and a runtime dependency that cannot be needs a
written reason too. RELIABILITY.md explains this.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.reliability import figures

pytestmark = [pytest.mark.reliability]

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
EXCEPTIONS = Path(__file__).with_name("audit-exceptions.toml")
PYPI_JSON = "https://pypi.org/pypi/{name}/json"
GRACE_DAYS = 14


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def runtime_closure(project: str = "autowebinar-wp") -> set[str]:
    """The distributions `pip install autowebinar-wp` (no extras) brings in."""
    seen: set[str] = set()
    todo = [project]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen - {canonicalize_name(project)}


def pip_audit() -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-r", str(LOCK), "--no-deps", "--disable-pip",
         "--format", "json", "--progress-spinner", "off", "--vulnerability-service", "pypi"],
        capture_output=True, text=True, timeout=300)
    assert completed.stdout.strip(), f"pip-audit printed nothing: {completed.stderr[-2000:]}"
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


@dataclass(frozen=True)
class Latest:
    """What PyPI's per-project JSON says about a package's latest release."""

    version: str
    vulnerabilities: list[str]  # ids of the known vulnerabilities of that release
    uploaded: datetime | None
    python_ok: bool  # it installs on the Python that runs this test


def latest_release(name: str) -> Latest:
    response = httpx.get(PYPI_JSON.format(name=name), timeout=30, follow_redirects=True)
    response.raise_for_status()
    data = response.json()
    info = data["info"]
    stamps = [f["upload_time_iso_8601"] for f in data.get("urls") or []]
    uploaded = (datetime.fromisoformat(min(stamps).replace("Z", "+00:00")) if stamps
                else None)
    requires = info.get("requires_python") or ""
    return Latest(info["version"], [v["id"] for v in data.get("vulnerabilities") or []],
                  uploaded, SpecifierSet(requires).contains(platform.python_version()))


def test_locked_dependencies_have_no_unexplained_vulnerability() -> None:
    pins = locked()
    exceptions = tomllib.loads(EXCEPTIONS.read_text()).get("ignore", [])
    assert all(str(e.get("reason", "")).strip() for e in exceptions), "an exception has no reason"
    accepted = {(canonicalize_name(e["package"]), e["id"]) for e in exceptions}
    explained = tomllib.loads(EXCEPTIONS.read_text()).get("unaudited", [])
    assert all(str(e.get("reason", "")).strip() for e in explained), "an entry has no reason"
    cannot = {canonicalize_name(e["package"]): e["version"] for e in explained}

    report = pip_audit()
    found: dict[str, list[str]] = {}  # package -> vulnerability ids
    audited: dict[str, str] = {}  # package -> how
    skipped: list[str] = []
    for dep in report["dependencies"]:
        name = canonicalize_name(dep["name"])
        if "skip_reason" in dep:
            skipped.append(name)
            continue
        audited[name] = "pip-audit"
        found[name] = [v["id"] for v in dep.get("vulns", [])]
    with ThreadPoolExecutor(8) as pool:
        latest = dict(zip(skipped, pool.map(latest_release, skipped), strict=True))
    unaudited = []
    for name, release in latest.items():
        if release.version == pins[name]:
            audited[name] = "latest-release JSON"
            found[name] = release.vulnerabilities
        else:
            unaudited.append(name)
    unexplained = sorted(f"{name}=={pins[name]}: {vid}" for name, ids in found.items()
                         for vid in ids if (name, vid) not in accepted)
    runtime = runtime_closure()
    # A runtime dependency that cannot be audited needs a written reason ([[unaudited]], for
    # its exact version) - unless the lock is merely behind a release of the last
    # GRACE_DAYS that installs here: then `make lock` audits it, and CI does not go red the
    # day a dependency publishes a release.
    now = datetime.now(UTC)
    recent = {n for n in unaudited if latest[n].python_ok and latest[n].uploaded is not None
              and now - latest[n].uploaded < timedelta(days=GRACE_DAYS)}
    not_audited = sorted(f"{n}=={pins[n]} (latest {latest[n].version})" for n in runtime
                         if n in unaudited and n not in recent and cannot.get(n) != pins[n])
    figures.record(
        "dependencies", locked=len(pins), audited_by_pip_audit=sum(
            1 for how in audited.values() if how == "pip-audit"),
        audited_by_latest_release_json=sum(
            1 for how in audited.values() if how != "pip-audit"),
        unaudited=sorted(f"{n}=={pins[n]}" for n in unaudited),
        lock_behind_a_recent_release=sorted(f"{n}: {latest[n].version}" for n in recent),
        known_vulnerabilities=sum(map(len, found.values())),
        accepted_with_reason=len(accepted), unaudited_runtime_with_reason=sorted(cannot),
        unexplained=len(unexplained))
    missing = runtime - set(pins)
    assert not missing, f"runtime dependencies missing from the lock: {missing}"
    assert not unexplained, "known vulnerabilities without a written reason:\n" + "\n".join(
        unexplained)
    assert not not_audited, (
        f"runtime dependencies that cannot be audited: {not_audited}; run `make lock`, or "
        "give the reason under [[unaudited]] in audit-exceptions.toml")
    assert len(audited) + len(unaudited) == len(pins)
    assert all(re.fullmatch(r"[0-9A-Za-z.+!_-]+", v) for v in pins.values())


def test_the_environment_matches_the_lock() -> None:
    """.ci/test installs with the lock as constraints: what runs is what was audited."""
    pins = locked()
    installed = {canonicalize_name(d.metadata["Name"]): d.version
                 for d in metadata.distributions()}
    differ = sorted(f"{n}: locked {v}, installed {installed.get(n)}"
                    for n, v in pins.items() if installed.get(n) != v)
    assert not differ, differ
