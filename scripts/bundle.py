"""Build what is published to students: a folder and a zip made from release/hw2.

    python scripts/bundle.py [--out build/student]   ->  build/student/hw2/, build/student/hw2.zip

The folder holds the four release notebooks, hw2utils.py, hw2checks/, data/ and a README.md written from
notebooks/STUDENT_README.md. Where hw2utils.BASE_URL points to a GitHub repository
(https://raw.githubusercontent.com/ORG/REPO/BRANCH/PATH/), the README links each notebook to
"Open in Colab" at the same place: publish the folder's contents at BASE_URL and both the
Colab links and the setup cells' downloads work. BASE_URL is the one setting (hw2utils.py).
The leak check (scripts/leak_check.py) runs on the result; a leak stops the build.
The zip is byte-reproducible (fixed timestamps and order).
"""

import argparse
import re
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import build  # noqa: E402 -- scripts/ is on sys.path above; BASE_URL without importing torch
import leak_check  # noqa: E402 -- as build
from autograder.kit import ASSIGNMENT, NOTEBOOKS, STUDENT_README  # noqa: E402 -- build put the kit on sys.path

RELEASE = ROOT / "release" / ASSIGNMENT
TITLES = dict(
    zip(
        NOTEBOOKS,
        (
            "Part 1 — Gradient descent and weight decay (20 points)",
            "Part 2 — Gradient statistics, EMA and Adam (25 points)",
            "Part 3 — Training MLPs and residual networks (30 points)",
            "Part 4 — Initialization (25 points, + 10 extra credit)",
        ),
        strict=True,
    )
)
_GITHUB_RAW = re.compile(
    r"^https://raw\.githubusercontent\.com/(?P<org>[^/]+)/(?P<repo>[^/]+)/"
    r"(?P<branch>[^/]+)/(?P<path>.*)$"
)


def colab_url(base_url: str, notebook: str) -> str | None:
    """The "Open in Colab" address of ``notebook`` published at ``base_url``, or None."""
    found = _GITHUB_RAW.match(base_url)
    if not found:
        return None
    return (
        f"https://colab.research.google.com/github/{found['org']}/{found['repo']}/blob/"
        f"{found['branch']}/{found['path']}{notebook}.ipynb"
    )


def student_readme(base_url: str) -> str:
    rows = ["| notebook | part | Colab |", "|---|---|---|"]
    for stem, title in TITLES.items():
        url = colab_url(base_url, stem)
        rows.append(
            f"| `{stem}.ipynb` | {title} | " + (f"[Open in Colab]({url})" if url else "—") + " |"
        )
    if colab_url(base_url, "x"):
        colab = (
            "Click a notebook's **Open in Colab** link above, then choose File > Save a copy "
            "in Drive: Colab keeps your work only in that copy."
        )
    else:
        colab = (
            "Open https://colab.research.google.com, choose File > Upload notebook, and "
            "upload the notebook from this folder; Colab keeps it in your Google Drive."
        )
    template = (ROOT / "notebooks" / "STUDENT_README.md").read_text()
    return template.format(notebook_table="\n".join(rows), colab_paragraph=colab)


def make_bundle(out: Path) -> tuple[Path, Path]:
    """Write out/hw2/ and out/hw2.zip; returns both."""
    folder = out / ASSIGNMENT
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(
        RELEASE, folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    )
    (folder / STUDENT_README).write_text(student_readme(build.base_url()))
    archive = out / f"{ASSIGNMENT}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(
                f"{ASSIGNMENT}/{path.relative_to(folder).as_posix()}", (2025, 1, 1, 0, 0, 0)
            )
            info.external_attr, info.compress_type = 0o644 << 16, zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return folder, archive


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    args = parser.parse_args(argv)
    folder, archive = make_bundle(args.out)
    leaks = leak_check.scan([folder, archive, RELEASE])
    for leak in leaks:
        print(f"LEAK {leak}")
    if leaks:
        print(f"{len(leaks)} leaks: do not publish {folder}")
        return 1
    print(f"student bundle: {folder} and {archive} (leak check: clean)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
