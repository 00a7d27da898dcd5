"""Which code produced a run: the git commit, whether the package had uncommitted changes, a hash of its sources.

Every run records `code_identity()` in its config.json (and experiment.json in its environment), so that
`plot` and `status` can say when the runs of one experiment came from different code, or from a tree
whose commit does not name the code (`code_warnings`).

- git_sha: `git rev-parse HEAD` of the checkout the package was imported from; None without git, or when
  the package is not a tracked part of that checkout (a wheel installed into a virtual environment that
  happens to sit inside some git repository).
- git_dirty: the package's own files differ from that commit: a tracked file of the `mixup_bench/` folder
  or the checkout's pyproject.toml is changed, or an untracked .py file sits in the package folder. Anything
  else in the checkout (results folders, notes, tests) leaves it clean. None where git_sha is None.
- source_hash: sha256 over the package's *.py files, the first 16 hex digits; the same code gives the same
  hash in a checkout and in a wheel install, committed or not.

A leaf module: no torch, nothing from the rest of the package.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
GIT_TIMEOUT_S = 5
HASH_DIGITS = 16  # of the sha256 in hex: 64 bits, plenty to tell code versions apart
STARTED_KEY = "started"  # config.json: when the run first started
SHOWN_RUNS = 6  # run ids named per group in a warning before '+k more'


def code_identity() -> dict:
    """{"git_sha": str | None, "git_dirty": bool | None, "source_hash": str} of the code running now.

    Computed once per process (git is asked at most four times); a fresh dict each call."""
    sha, dirty, source = _identity()
    return {"git_sha": sha, "git_dirty": dirty, "source_hash": source}


@functools.lru_cache(maxsize=1)
def _identity() -> tuple[str | None, bool | None, str]:
    sha, dirty = git_state(PACKAGE_DIR)
    return sha, dirty, source_hash(PACKAGE_DIR)


def git_state(pkg_dir: Path) -> tuple[str | None, bool | None]:
    """(HEAD's sha, whether the package differs from it) for the checkout holding `pkg_dir`; (None, None)
    without git, outside a checkout, or when the package is not tracked in the checkout around it."""
    top = _git(["rev-parse", "--show-toplevel"], pkg_dir)
    if not top or not _git(["ls-files", "--", "__init__.py"], pkg_dir):
        return None, None
    sha = _git(["rev-parse", "HEAD"], pkg_dir)
    if not sha:  # a repository without a commit yet
        return None, None
    return sha, tree_dirty(Path(top), pkg_dir)


def tree_dirty(repo: Path, pkg_dir: Path) -> bool | None:
    """Whether the package in the checkout at `repo` differs from HEAD: a tracked file under `pkg_dir` or
    `repo`/pyproject.toml is changed, staged or deleted, or an untracked .py file lies under `pkg_dir`
    (files git ignores, such as __pycache__, never count). None when git cannot tell."""
    out = _git(
        ["status", "--porcelain", "-z", "--untracked-files=all", "--", str(pkg_dir), str(repo / "pyproject.toml")],
        repo,
        strip=False,
    )
    if out is None:
        return None
    entries = iter(out.split("\0"))
    for entry in entries:
        if not entry:
            continue
        status, path = entry[:2], entry[3:]
        if status[0] in "RC":  # a rename or copy: its origin path follows as its own entry
            next(entries, None)
        if status != "??" or path.endswith(".py"):
            return True
    return False


def _git(args: list[str], cwd: Path, strip: bool = True) -> str | None:
    """git's output, None when git is missing, fails, or takes over GIT_TIMEOUT_S."""
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() if strip else out.stdout


def source_hash(pkg_dir: Path) -> str:
    """sha256 (first HASH_DIGITS hex digits) over every *.py under `pkg_dir`, in the order of their relative
    POSIX paths: per file, its path, a NUL and the sha256 of its bytes (a fixed length, so that no two sets of
    files hash alike by shifting bytes from one file to the next)."""
    pkg_dir = Path(pkg_dir)
    files = sorted((p.relative_to(pkg_dir).as_posix(), p) for p in pkg_dir.rglob("*.py") if p.is_file())
    total = hashlib.sha256()
    for rel, path in files:
        try:
            digest = hashlib.sha256(path.read_bytes()).digest()
        except OSError:
            digest = b"unreadable"
        total.update(rel.encode("utf-8", "surrogateescape") + b"\0" + digest)
    return total.hexdigest()[:HASH_DIGITS]


def describe_code(identity: dict) -> str:
    """One code version in a few words: 'abc1234 (dirty), sources 1a2b3c4d…'."""
    if not _known(identity):
        return "no code recorded"
    sha, dirty = identity.get("git_sha"), identity.get("git_dirty")
    commit = f"{sha[:7]}{' (dirty)' if dirty else ''}" if isinstance(sha, str) and sha else "no git commit"
    return f"{commit}, sources {identity['source_hash'][:8]}…"


def code_fields(previous: dict | None, current: dict) -> dict:
    """The code keys of a run's config.json written by the command running `current`: {"code": ...} for a run
    it starts (`previous` None), else the code that started it (previous["code"], {} when that config.json
    recorded none) with `current` added to "code_resumed" when it differs, each identity once."""
    if previous is None:
        return {"code": current}
    code = previous.get("code") if isinstance(previous.get("code"), dict) else {}
    resumed = [i for i in previous.get("code_resumed") or [] if isinstance(i, dict)]
    if current != code and current not in resumed:
        resumed.append(current)
    return {"code": code, "code_resumed": resumed} if resumed else {"code": code}


def started_field(previous: dict | None) -> dict:
    """config.json's "started", when the run first started (ISO 8601 in UTC, to the millisecond), for the
    command that writes it: now for a run it starts (`previous` None); for one it resumes, the time that
    config.json recorded ({} when it recorded none: a run from before the time was kept). Dashboards draw
    the run from it (integrations.times), so an export made later shows when the run really trained."""
    if previous is None:
        return {STARTED_KEY: datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
    started = previous.get(STARTED_KEY)
    return {STARTED_KEY: started} if isinstance(started, str) else {}


def run_identity(config: object) -> dict:
    """The identity `code_warnings` takes from a run's config.json (parsed): its "code", plus "resumed", the
    identities of the later commands that resumed it (its "code_resumed"); {} when it recorded none."""
    if not isinstance(config, dict):
        return {}
    code = config.get("code")
    identity = dict(code) if isinstance(code, dict) else {}
    resumed = [i for i in config.get("code_resumed") or [] if isinstance(i, dict)]
    if resumed:
        identity["resumed"] = resumed
    return identity


def read_identities(config_files: Iterable[Path]) -> dict[str, dict]:
    """Run id (the folder holding it) -> `run_identity` of each run's config.json; {} for one that cannot be
    read (whoever reads the run reports the damage itself)."""
    identities = {}
    for path in config_files:
        path = Path(path)
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError):  # ValueError: not JSON, not UTF-8
            config = None
        identities[path.parent.name] = run_identity(config)
    return identities


def code_warnings(identities: dict[str, dict]) -> list[str]:
    """Sentences for a report on the runs of one experiment, from run id -> identity (`run_identity`):
    the runs came from more than one source version; a run was resumed by other code than started it;
    a run came from a dirty tree; some runs recorded no identity while others did. [] when every run
    shares one clean identity, and when no run recorded one (an experiment older than these records)."""
    known = {r: i for r, i in identities.items() if _known(i)}
    if not known:
        return []
    warnings = []
    versions: dict[str, list[str]] = {}
    for run_id, identity in sorted(known.items()):
        versions.setdefault(identity["source_hash"], []).append(run_id)
    if len(versions) > 1:
        groups = sorted(versions.values(), key=lambda runs: (-len(runs), runs[0]))
        listed = "; ".join(f"{describe_code(known[runs[0]])}: {_names(runs)}" for runs in groups)
        warnings.append(
            f"The runs came from {len(versions)} versions of the code ({listed}); "
            "their differences may come from the code rather than the arms."
        )
    mixed = [r for r, i in sorted(known.items()) if any(_hash(o) != i["source_hash"] for o in i.get("resumed", []))]
    if mixed:
        warnings.append(
            f"{_runs(mixed)} {_was(mixed)} trained by more than one version of the code: resumed by other code "
            f"than started {_them(mixed)} (config.json's code_resumed)."
        )
    dirty = [r for r, i in sorted(known.items()) if any(o.get("git_dirty") for o in [i, *i.get("resumed", [])])]
    if dirty:
        warnings.append(
            f"{_runs(dirty)} {_was(dirty)} trained from a working tree with uncommitted changes to the package, so no "
            "commit holds that code (its source_hash in config.json still tells versions apart)."
        )
    missing = sorted(set(identities) - set(known))
    if missing:
        warnings.append(
            f"{_runs(missing)} recorded no code identity (written before runs recorded it, or config.json is "
            "unreadable): whether they ran the same code as the others cannot be told."
        )
    return warnings


def _known(identity: object) -> bool:
    return isinstance(identity, dict) and isinstance(identity.get("source_hash"), str) and bool(identity["source_hash"])


def _hash(identity: object) -> str | None:
    return identity.get("source_hash") if isinstance(identity, dict) else None


def _names(runs: list[str]) -> str:
    more = len(runs) - SHOWN_RUNS
    return ", ".join(runs[:SHOWN_RUNS]) + (f" +{more} more" if more > 0 else "")


def _runs(runs: list[str]) -> str:
    return f"Run {runs[0]}" if len(runs) == 1 else f"{len(runs)} runs ({_names(runs)})"


def _was(runs: list[str]) -> str:
    return "was" if len(runs) == 1 else "were"


def _them(runs: list[str]) -> str:
    return "it" if len(runs) == 1 else "them"
