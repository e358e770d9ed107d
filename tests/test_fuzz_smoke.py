"""A very short run of the upload sanitiser's fuzz target (fuzz/upload_sanitiser.py): a few hundred inputs made
by atheris from the seed files must all end cleaned or refused. The long run and its figures: docs/security.md."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "fuzz" / "upload_sanitiser.py"

pytest.importorskip("atheris", reason="atheris is a dev requirement (requirements-dev.txt)")


def test_a_few_hundred_fuzzed_uploads_are_cleaned_or_refused(tmp_path: Path) -> None:
    """Ensure that the fuzz target runs 400 mutated inputs without a finding."""
    seeds, corpus = tmp_path / "seeds", tmp_path / "corpus"
    corpus.mkdir()
    subprocess.run([sys.executable, str(TARGET), "--seeds", str(seeds)], check=True, cwd=tmp_path, timeout=120)
    assert len(list(seeds.iterdir())) >= 10
    run = subprocess.run(
        [
            sys.executable,
            str(TARGET),
            "-runs=400",
            "-seed=1",
            "-timeout=20",
            "-rss_limit_mb=2048",
            str(corpus),
            str(seeds),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done 400 runs" in run.stderr
    assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(("crash-", "timeout-", "oom-"))]


def test_the_target_reports_what_is_not_a_refusal() -> None:
    """Ensure that the target lets through what is not a refusal (so the run above can fail)."""
    sys.path.insert(0, str(ROOT))
    code = "import sys; sys.argv=['x']; import fuzz.upload_sanitiser as t; t.sanitise(b'\\x00' + b'\\x89PNG\\r\\n\\x1a\\n')"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]  # a refusal (MediaError) is swallowed
    broken = (
        "import sys; import fuzz.upload_sanitiser as t; "
        "t.process_image = lambda *a, **k: (_ for _ in ()).throw(RuntimeError('boom')); t.sanitise(b'\\x00x')"
    )
    result = subprocess.run([sys.executable, "-c", broken], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "RuntimeError: boom" in result.stderr
