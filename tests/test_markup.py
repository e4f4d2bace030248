"""autograder.markup on its own (fast): honest markdown is kept byte for byte, every markup
payload of the corpus is found and what is kept renders inert, the maths and prose of a
cleaned answer survive, and a PNG output that is not base64 PNG is dropped. The same, in a
real browser and through the real pipeline: tests/test_browser_formgrader.py."""

import base64
import json
from pathlib import Path

import pytest

import attacks as corpus
from autograder import execution, integrity, markup

ROOT = Path(__file__).resolve().parents[1]


def _markdown_cells():
    for folder in ("source/hw2", "release/hw2"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            for cell in json.loads(path.read_text())["cells"]:
                if cell["cell_type"] == "markdown":
                    yield "".join(cell["source"])


HONEST = [
    "We get $a < b$ and $$\\sum_i x_i > 0$$; with `x<y` in code, **bold**, *em*, <b>b</b>, "
    "<sub>1</sub><sup>2</sup>, a [link](https://pytorch.org) and <mailto:me@example.org>.",
    "> a quote\n\n1. one\n2. two\n\n- [x] done\n\n| a | b |\n|:--|--:|\n| 1 | 2 |",
    "```python\nx = torch.zeros(3)  # <no tag>\n```\n\n# A heading\n\n---\n\nfoo<br>bar",
    "\\begin{align} a &< b \\\\ c &> d \\end{align}",
]


@pytest.mark.parametrize("text", HONEST + list(_markdown_cells()))
def test_honest_markdown_is_kept_as_written(text):
    assert markup.sanitize(text) == (text, [])


@pytest.mark.parametrize("name", sorted(corpus.MARKUP_PAYLOADS))
def test_every_payload_is_found_and_what_is_kept_is_inert(name):
    answer = corpus.markup_answer([name])
    kept, removed = markup.sanitize(answer)
    assert removed and kept != answer
    assert not markup.active(kept)
    html = markup.render(kept)
    assert "javascript" not in html.replace("javascript:eval", "") or "<pre>" in html
    assert "$\\eta &gt; 2/L$" in html or "<pre>" in html  # maths kept (or shown as text)


def test_a_cleaned_answer_keeps_its_maths_prose_and_markdown():
    kept, removed = markup.sanitize(corpus.markup_answer(["script", "svg_onload", "md_link"]))
    assert removed == ["script", "svg", "circle", "javascript: URL"]
    assert kept.startswith(corpus.MARKUP_PROSE)
    html = markup.render(kept)
    assert "<blockquote>" in html and "<code>lr=0.5</code>" in html
    assert "$|1 - \\eta L| &lt; 1$" in html and '<a href="#">' in html


def test_tricks_that_cleaning_does_not_undo_leave_plain_text():
    for trick in (
        "[x](&#106;avascript:alert(1))",
        "$\\href{javascript:alert(1)}{x}$",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "<javascript:alert(1)>",
        "![x](/api/contents)",
        "<a href='jav&#x09;ascript:alert(1)'>y</a>",
    ):
        kept, removed = markup.sanitize(trick)
        assert removed and not markup.active(kept), trick


def test_the_edit_line_names_the_cell_and_what_was_removed():
    release = json.loads((ROOT / "release/hw2/02_ema_adam.ipynb").read_text())
    submitted = json.loads(json.dumps(release))
    answer = next(
        c
        for c in submitted["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "q_scale_invariance"
    )
    answer["source"] = (
        "Adam divides by $\\sqrt{v} > 0$. <script>alert(1)</script><svg onload=alert(2)>"
    )
    checked = integrity.check_notebook(submitted, release)
    assert checked.suspicious
    assert checked.edits == [
        "answer cell 'q_scale_invariance': active content removed from the "
        "written answer (script, svg)"
    ]
    kept = next(
        c
        for c in checked.notebook["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "q_scale_invariance"
    )
    assert kept["source"].startswith("Adam divides by $\\sqrt{v} > 0$.")


def test_a_png_output_must_be_base64_png():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(30)).decode()
    forged = 'iVBORw0KGgo=" onerror="alert(1)'
    outputs = [
        {"output_type": "display_data", "data": {"image/png": forged, "text/plain": "a plot"}},
        {"output_type": "display_data", "data": {"image/png": png[:20] + "\n" + png[20:]}},
        {
            "output_type": "display_data",
            "data": {"image/png": base64.b64encode(b"GIF89a").decode()},
        },
    ]
    kept = execution._sanitized(outputs)
    assert kept[0]["data"] == {"text/plain": "a plot"}
    assert kept[1]["data"]["image/png"] == png[:20] + "\n" + png[20:]
    assert len(kept) == 2


def test_a_notebook_of_many_markdown_cells_costs_bounded_time_and_stays_inert():
    import time

    release = json.loads((ROOT / "release/hw2/01_gradient_descent.ipynb").read_text())
    submitted = json.loads(json.dumps(release))
    payload = corpus.markup_answer(corpus.MARKUP_PAYLOADS)  # 6.5 kB, every payload
    submitted["cells"] += [
        {"cell_type": "markdown", "metadata": {}, "source": f"{payload} {n}"} for n in range(2000)
    ]
    start = time.perf_counter()
    checked = integrity.check_notebook(submitted, release)
    elapsed = time.perf_counter() - start
    added = [
        c
        for c in checked.notebook["cells"]
        if c["source"].endswith("~~~\n")
        or "active content" in c["source"]
        or "hw2kept" in c["source"]
    ]
    assert len(added) == 2000 and not any(markup.active(c["source"]) for c in added[::97])
    assert sum("more markdown than the grader checks" in e for e in checked.edits) == 1
    assert elapsed < 15, elapsed  # ~30 payload cells checked and cleaned, the rest as text


def test_workers_checking_notebooks_at_once_get_what_one_alone_gets():
    """A batch's workers (threads) check markdown at once: a parser shared between them
    failed (IndexError, ValueError) and a student's grading crashed."""
    import threading

    sources = [*_markdown_cells(), "<script>x</script> <a href='javascript:1'>a</a>"]
    alone = [markup.active(s) for s in sources]
    found, errors = [], []

    def check():
        try:
            found.append([markup.active(s) for s in sources * 3][: len(sources)])
        except Exception as exc:
            errors.append(repr(exc))

    workers = [threading.Thread(target=check) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == [] and found == [alone] * 3
