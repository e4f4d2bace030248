"""Bounded decoding (autograder/bounded.py): hostile torch zips and JSON are refused before
they are decoded, honest files (real probe data, the EC1 model, the release notebooks) pass."""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from pathlib import Path

import pytest
import torch

import hw2probes
import hw2utils
from autograder import bounded, integrity
from autograder.aspects import Context
from autograder.checks import extra_credit as hidden_ec
from autograder.checks import find as find_aspect
from autograder.judging import judge
from ec_networks import rule_network
from hw2checks.toolkit import Malformed

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release" / "hw2"
PROBE = bounded.PROBE_DATA


def probe_bytes(data) -> bytes:
    return hw2probes.to_bytes(data)


def load(raw: bytes, caps=PROBE):
    return bounded.load_torch(raw, caps, hw2probes.from_bytes)


def rewritten(
    raw: bytes,
    compress: dict[str, int] | None = None,
    extra: dict[str, bytes] | None = None,
    names: dict[str, str] | None = None,
) -> bytes:
    """A torch zip's records copied into a new zip: some deflated (to the bytes ``extra``
    gives, else as they are), some renamed, some added."""
    compress, extra, names = compress or {}, extra or {}, names or {}
    source, out = zipfile.ZipFile(io.BytesIO(raw)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            name = names.get(info.filename, info.filename)
            target.writestr(
                zipfile.ZipInfo(name),
                extra.get(info.filename, source.read(info)),
                compress_type=compress.get(info.filename, zipfile.ZIP_STORED),
            )
        for name, data in extra.items():
            if name not in source.namelist():
                target.writestr(zipfile.ZipInfo(name), data)
    return out.getvalue()


def part4_data() -> list:
    """Real probe data of Part 4 (the largest: sampled weight matrices), correct answers."""

    def he(n_in, n_out, g):
        return torch.randn(n_in, n_out, generator=g) * math.sqrt(2 / n_in)

    return [
        hw2probes.collect(find_aspect("part4", check).probe, lambda: (he,))
        for check in ("init_he__distribution", "init_he__generator", "init_small__distribution")
    ]


# torch zips --------------------------------------------------------------------------------


def test_real_probe_data_and_the_ec1_model_pass(tmp_path):
    for data in [
        *part4_data(),
        {"result": [torch.zeros(3, 4).T, 1.5, "x", {"a": torch.arange(5)[1:]}]},
        {"error": "ValueError: wrong"},
        {"result": torch.zeros(1).expand(50)},
    ]:
        assert "result" in load(probe_bytes(data)) or "error" in data
    path = tmp_path / hw2utils.EC_MODEL_FILE
    hw2utils._write_ec_model(rule_network(), path, saved_by="save_ec_model")
    assert path.stat().st_size < bounded.EC_MODEL.bytes / 100  # a wide margin
    network, saved_by = hidden_ec.read_submitted(path)
    assert saved_by == "save_ec_model"
    # saved under a browser's name: torch names the archive's folder after the file
    renamed = tmp_path / "renamed" / "ec_transfer_model (1).pt"
    renamed.parent.mkdir()
    hw2utils._write_ec_model(rule_network(), renamed, saved_by="save_ec_model")
    assert hidden_ec.read_submitted(renamed)[1] == "save_ec_model"
    assert judge(
        "extra_credit",
        "ec_transfer__saved_model",
        (),
        {"result": None},
        Context(submission=tmp_path),
    ).passed


def test_a_compressed_record_is_refused_before_it_is_expanded():
    raw = probe_bytes({"result": torch.zeros(4)})
    name = next(n for n in zipfile.ZipFile(io.BytesIO(raw)).namelist() if "/data/" in n)
    bomb = rewritten(raw, compress={name: zipfile.ZIP_DEFLATED}, extra={name: bytes(64 * 2**20)})
    assert len(bomb) < 2**20
    with pytest.raises(bounded.Refused, match="compressed"):
        load(bomb)
    # the same records, rewritten stored by another zip writer, pass
    assert torch.equal(load(rewritten(raw))["result"], torch.zeros(4))


def test_sizes_records_and_names_are_checked():
    raw = probe_bytes({"result": [torch.zeros(2)] * 3})
    assert load(raw)
    with pytest.raises(bounded.Refused, match="more than the 0 MB"):
        load(
            raw, bounded.Caps(bytes=1000, records=10, pickle=10_000, nodes=100, depth=8, numel=100)
        )
    with pytest.raises(bounded.Refused, match="records"):
        load(
            raw, bounded.Caps(bytes=2**20, records=3, pickle=10_000, nodes=100, depth=8, numel=100)
        )
    with pytest.raises(bounded.Refused, match="data.pkl holds"):
        load(raw, bounded.Caps(bytes=2**20, records=10, pickle=10, nodes=100, depth=8, numel=100))
    pkl = next(n for n in zipfile.ZipFile(io.BytesIO(raw)).namelist() if n.endswith("data.pkl"))
    for names in ({pkl: "other/data.pkl"}, {pkl: "archive/../data.pkl"}):
        with pytest.raises(bounded.Refused, match="names"):
            load(rewritten(raw, names=names))
    byteorder = next(
        n for n in zipfile.ZipFile(io.BytesIO(raw)).namelist() if n.endswith("/byteorder")
    )
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = rewritten(raw, names={byteorder: pkl})
    with pytest.raises(bounded.Refused, match="duplicate"):
        load(twice)
    for broken in (b"not a zip", raw[:-30], raw[: len(raw) // 2]):
        with pytest.raises((bounded.Unreadable, bounded.Refused)):
            load(broken)


def test_a_declared_size_larger_than_the_file_is_refused():
    raw = bytearray(probe_bytes({"result": torch.zeros(4)}))
    entry = raw.rfind(b"PK\x01\x02")  # the last record's entry in the zip directory
    struct.pack_into("<LL", raw, entry + 20, 2**30, 2**30)  # its stored and declared sizes
    with pytest.raises(bounded.Refused):
        load(bytes(raw))


def test_billion_laughs_cycles_and_deep_nesting_are_refused():
    laughs = ["lol"]
    for _ in range(9):
        laughs = [laughs] * 10  # 10**9 leaves, a few hundred bytes pickled
    raw = probe_bytes({"result": laughs})
    assert len(raw) < 4000
    with pytest.raises(bounded.Refused, match="more than 100000 values"):
        load(raw)
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(bounded.Refused):
        bounded.check_plain({"result": cycle}, PROBE)
    deep: list = []
    for _ in range(40):
        deep = [deep]
    with pytest.raises(bounded.Refused, match="deeper than 32"):
        load(probe_bytes({"result": deep}))


def test_a_huge_view_over_a_tiny_storage_is_refused():
    huge = torch.zeros(1).expand(10**9)  # stride 0: a billion numbers over one stored
    raw = probe_bytes({"result": huge})
    assert len(raw) < 4000
    with pytest.raises(bounded.Refused, match="more than 4000000 numbers"):
        load(raw)
    many = torch.zeros(2**16)
    with pytest.raises(bounded.Refused, match="numbers in all"):
        load(probe_bytes({"result": [many] * 100}))  # one storage, shared by 100 views
    beyond = torch.zeros(4)
    beyond.set_(torch.zeros(4).untyped_storage(), 0, (2,), (1,))
    assert load(probe_bytes({"result": beyond}))["result"].shape == (2,)
    with pytest.raises(bounded.Refused, match="dense"):
        bounded.check_plain({"result": torch.zeros(3, 3).to_sparse()}, PROBE)


def test_the_ec1_judge_refuses_a_bomb_as_malformed_and_an_oversized_file(tmp_path):
    path = tmp_path / hw2utils.EC_MODEL_FILE
    hw2utils._write_ec_model(rule_network(), path, saved_by="save_ec_model")
    name = next(n for n in zipfile.ZipFile(path).namelist() if "/data/" in n)
    path.write_bytes(
        rewritten(
            path.read_bytes(),
            compress={name: zipfile.ZIP_DEFLATED},
            extra={name: bytes(64 * 2**20)},
        )
    )
    for check in ("ec_transfer__saved_model", "ec_transfer__accuracy_95"):
        verdict = judge("extra_credit", check, (), {"result": None}, Context(submission=tmp_path))
        assert not verdict.passed and verdict.malformed and "compressed" in verdict.message
    path.write_bytes(bytes(bounded.EC_MODEL.bytes + 1))
    with pytest.raises(Malformed, match="more than the 8 MB"):
        hidden_ec.load_model("ec_transfer__saved_model", Context(submission=tmp_path))
    path.write_bytes(b"truncated upload")  # not a zip at all: a message, not a flag
    verdict = judge(
        "extra_credit",
        "ec_transfer__saved_model",
        (),
        {"result": None},
        Context(submission=tmp_path),
    )
    assert not verdict.passed and not verdict.malformed and "cannot be loaded" in verdict.message


# JSON --------------------------------------------------------------------------------------


def test_honest_notebooks_pass_and_strings_do_not_count():
    for path in sorted(RELEASE.glob("*.ipynb")):
        assert bounded.load_json(path.read_bytes(), bounded.EXECUTED_NOTEBOOK)["nbformat"] == 4
    text = json.dumps({"cells": ["[[[[,,,,{{{{" * 100_000, 'a "quoted" \\ [ string']}).encode()
    assert bounded.load_json(text, bounded.Caps(bytes=2**22, nodes=10, depth=3))


def test_json_bombs_are_refused_before_parsing(tmp_path):
    caps = bounded.EXECUTED_NOTEBOOK
    arrays = b"[" + b"[]," * (caps.nodes + 1) + b"[]]"
    with pytest.raises(bounded.Refused, match="JSON values"):
        bounded.check_json(arrays, caps)
    with pytest.raises(bounded.Refused, match="nested deeper"):
        bounded.check_json(b"[" * 100 + b"]" * 100, caps)
    with pytest.raises(bounded.Refused, match="larger than"):
        bounded.check_json(b" " * (caps.bytes + 1), caps)
    with pytest.raises(
        bounded.Refused, match="JSON strings"
    ):  # refused before a regex runs on them
        bounded.check_json(b"[" + b'"",' * (caps.nodes + 1) + b'""]', caps)
    escapes = (
        b'{"a": "' + rb"\\\"" * 2**20 + b'"}'
    )  # 4 MB of escaped backslashes and quotes: one string
    assert bounded.load_json(escapes, caps)["a"] == '\\"' * 2**20
    path = tmp_path / "01_gradient_descent.ipynb"
    path.write_bytes(b"[" + b"[]," * bounded.SUBMITTED_NOTEBOOK.nodes + b"[]]")  # 1.5 MB
    with pytest.raises(ValueError, match="JSON values"):
        integrity.load_submission(path)


def test_a_notebook_with_too_many_cells_is_refused(tmp_path):
    notebook = json.loads((RELEASE / "01_gradient_descent.ipynb").read_text())
    path = tmp_path / "01_gradient_descent.ipynb"
    notebook["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": "x"}] * 200
    path.write_text(json.dumps(notebook))
    assert integrity.load_submission(path) == notebook  # added cells, within the limit
    notebook["cells"] += [
        {"cell_type": "markdown", "metadata": {}, "source": "x"}
    ] * bounded.MAX_CELLS
    path.write_text(json.dumps(notebook))
    with pytest.raises(ValueError, match=f"more than the {bounded.MAX_CELLS}"):
        integrity.load_submission(path)
    notebook["cells"] = (
        notebook["cells"][:50]
        + [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": "x" * (bounded.MAX_SOURCE_CHARS // 4),
            }
        ]
        * 5
    )
    path.write_text(json.dumps(notebook))
    with pytest.raises(ValueError, match="characters of cell text"):
        integrity.load_submission(path)
