"""The README's main command in a subprocess (its notebook steps are covered by
tests/test_notebooks.py, which validates the same trees)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.sandbox  # it grades the example class
@pytest.mark.certify  # the kit's main command end to end, in a subprocess: about 25 s
def test_main_job_reports_the_data_and_writes_the_helper_figures(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "scripts/main_job.py",
            "--skip-notebooks",
            "--skip-grading",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Dataset('tiny': train 8000, val 1000, test 1000" in result.stdout
    assert "L(x0) = 3.937" in result.stdout and "main job finished" in result.stdout
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["activations_xavier.png", "bowl.png"]
    assert all((tmp_path / name).stat().st_size > 10_000 for name in written)
