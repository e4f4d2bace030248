"""The README's main command end to end (shortened by grading mode), in a subprocess."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_main_job_writes_every_figure_and_reports_the_bowl_facts(tmp_path):
    env = {**os.environ, "HW2_GRADING_MODE": "1", "HW2_DEVICE": "cpu"}
    result = subprocess.run([sys.executable, "scripts/main_job.py", "--out", str(tmp_path)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "L(x0) = 3.937" in result.stdout
    assert "Grading mode: training for 20 epochs" in result.stdout
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["activations_small.png", "activations_xavier.png", "bowl.png", "training.png"]
    assert all((tmp_path / name).stat().st_size > 10_000 for name in written)
