"""Bounded decoding of the files a submission hands the trusted grader: the one home of their limits.

The root grader decodes four kinds of untrusted file: each probe's data and EC1's model file
(torch zips, read with ``torch.load(weights_only=True)``), the executed notebook the sandbox
writes and the submitted notebook (JSON). Decoding is where a small file becomes a large
object: a deflated record of 1 MB expands to 1 GiB, pickle memo references build a
"billion laughs" list that is cheap to write and exponential to walk, a tensor view with zero
strides has a billion elements over one stored number, and ``[[],[],...]`` costs about 64
bytes of Python objects per 3 bytes of JSON. So each file is checked before it is decoded,
and what is decoded is checked before any judge uses it:

- torch zip (``check_torch_zip``, before ``torch.load``): at most ``Caps.bytes``; the end
  records where ``torch.save`` puts them (its ZIP64 record agreeing with the plain one, one
  disk, no comment, nothing before or after the archive); at most
  ``Caps.records`` records, every one stored (``ZIP_STORED``, as ``torch.save`` writes
  them), declared size = stored size, its data inside the file and overlapping no other
  record's (so the sizes sum to at most the file's size); plain, unique names under one
  folder; ``data.pkl`` at most ``Caps.pickle`` bytes (its opcodes build objects of at most
  ~64 bytes each: memory ≤ ~64 × Caps.pickle);
- plain data (``check_plain``, after ``torch.load``): at most ``Caps.nodes`` visits (a shared
  object counts each time it is reached, so memo references and cycles exhaust the budget),
  depth at most ``Caps.depth``, only strided tensors whose view lies inside their storage,
  and at most ``Caps.numel`` tensor elements in all (counted per view: a zero-stride view
  counts its full size);
- JSON (``check_json``, before ``json.loads``): at most ``Caps.bytes``; with its strings
  removed, at most ``Caps.nodes`` values (every value but the outermost follows a ``[``, a
  ``{`` or a ``,``) and nesting at most ``Caps.depth``; a notebook at most ``MAX_CELLS``
  cells and ``MAX_SOURCE_CHARS`` of source. Parsing then costs at most about bytes × 4 (str)
  + nodes × 250 bytes, and recording the notebook (nbgrader) time in proportion to its cells
  and source.

The limits (measured on the reference, see each constant) leave honest work a wide margin.
``Refused`` says why a file was refused (a message a student may read: no path of the
grader's); ``Unreadable`` is a file that is not one of these formats at all (a truncated upload).
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

MiB = 2**20
T = TypeVar("T")


@dataclass(frozen=True)
class Caps:
    """What one decoded file may cost: bytes of the file, zip records, bytes of ``data.pkl``,
    nodes (values) visited, nesting depth, tensor elements in all."""

    bytes: int
    records: int = 0
    pickle: int = 0
    nodes: int = 0
    depth: int = 0
    numel: int = 0


# Measured on the reference's 64 probe files (grading mode): at most 1.1 MB, 94 records, a
# data.pkl of 7.1 kB, 807 nodes, depth 9, 134,549 tensor elements (Part 4's samples).
PROBE_DATA = Caps(
    bytes=16 * MiB, records=1024, pickle=1 * MiB, nodes=100_000, depth=32, numel=4_000_000
)
# EC1's model file: the reference's network (tests/ec_networks.py) is 7.2 kB, the notebook's
# networks have thousands of parameters; 8 MiB holds 2 million float32 parameters. ``numel``
# also bounds the modules the grader builds from the file's layer description.
EC_MODEL = Caps(
    bytes=8 * MiB, records=1024, pickle=1 * MiB, nodes=100_000, depth=64, numel=5_000_000
)
# The executed notebooks of the reference in grading mode: at most 88 kB and 2,321 values
# (notebook 3); a student's own cells may print and plot more (each output is cut to
# execution.MAX_OUTPUT_CHARS when shown anyway).
EXECUTED_NOTEBOOK = Caps(bytes=8 * MiB, nodes=200_000, depth=64)
# A handed-in notebook saved with its outputs and plots is well under 5 MB; Colab adds about
# 15 values of metadata per cell.
SUBMITTED_NOTEBOOK = Caps(bytes=20 * MiB, nodes=500_000, depth=64)
# Cells of one notebook: the release's largest has 89; the rest is room for added cells.
MAX_CELLS = 1000
# Characters of source in all cells of one notebook (what is graded and recorded: outputs are
# dropped): the release's largest has 41 kB; room for answers, added cells and inline images.
MAX_SOURCE_CHARS = 4 * MiB


class Refused(ValueError):
    """A file beyond its caps, or built as no honest writer builds it (compressed records,
    overlapping data, billion laughs, a view larger than its storage): worth a flag."""


class Unreadable(ValueError):
    """Not a file of the expected format at all (truncated, another format)."""


# torch zips ------------------------------------------------------------------------------

_EOCD = struct.Struct(
    "<4s4H2LH"
)  # signature, disk, cd disk, entries here, entries, cd size, cd offset, comment
_ZIP64 = struct.Struct(
    "<4sQ2H2L4Q"
)  # signature, size, versions, disk, cd disk, entries here, entries, cd size, cd offset
_LOCATOR = struct.Struct("<4sLQL")  # signature, disk, the ZIP64 end record's offset, disks
_LOCAL = struct.Struct(
    "<4s5H3L2H"
)  # signature, version, flags, method, time, date, crc, sizes, name, extra
# torch.save names the archive's folder after the file it writes ("ec_transfer_model (1)" when a
# browser renamed the download before the student saved again): any printable name there
_NAME = re.compile(r"[^/\x00-\x1f\x7f]{1,255}(/[A-Za-z0-9_.\-]+)+")


def check_torch_zip(raw: bytes, caps: Caps) -> None:
    """Refused or Unreadable unless ``raw`` is a torch zip within ``caps`` (module docstring);
    reads only the zip's directory and headers, never a record's data."""
    import zipfile

    if len(raw) > caps.bytes:
        raise Refused(
            f"the file holds {len(raw) / MiB:.1f} MB, more than the {caps.bytes / MiB:.0f} MB allowed"
        )
    if len(raw) < _EOCD.size or raw[-_EOCD.size : -_EOCD.size + 4] != b"PK\x05\x06":
        raise Unreadable("not a file torch.save writes (no zip directory at its end)")
    end = len(raw) - _EOCD.size
    _, disk, cd_disk, here, entries, cd_size, cd_offset, comment = _EOCD.unpack(raw[end:])
    if cd_offset + cd_size == end - _ZIP64.size - _LOCATOR.size:  # torch.save adds ZIP64 records
        zip64, locator = (
            _ZIP64.unpack_from(raw, end - _ZIP64.size - _LOCATOR.size),
            _LOCATOR.unpack_from(raw, end - _LOCATOR.size),
        )
        if (
            (zip64[0], locator[0]) != (b"PK\x06\x06", b"PK\x06\x07")
            or zip64[4:] != (disk, cd_disk, here, entries, cd_size, cd_offset)
            or locator[1:] != (0, cd_offset + cd_size, 1)
        ):
            raise Refused("its ZIP64 end record does not match its zip directory")
    elif cd_offset + cd_size != end:
        raise Refused("its zip directory is not where torch.save puts it")
    if disk or cd_disk or here != entries or comment:
        raise Refused(
            "its zip directory is not where torch.save puts it (several disks or a comment)"
        )
    if entries > caps.records or cd_size > entries * (46 + 512):
        raise Refused(f"it holds {entries} records (at most {caps.records} allowed)")
    try:
        infos = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    except (zipfile.BadZipFile, ValueError, struct.error) as why:
        raise Unreadable(f"not a file torch.save writes ({why})") from None
    names = [info.filename for info in infos]
    prefix = names[0].split("/")[0] if names else ""
    if len(set(names)) != len(names) or not all(
        _NAME.fullmatch(n) and n.split("/")[0] == prefix and ".." not in n.split("/") for n in names
    ):
        raise Refused("its records have duplicate or odd names")
    pickles = [info for info in infos if info.filename == f"{prefix}/data.pkl"]
    if not pickles:
        raise Unreadable("not a file torch.save writes (no data.pkl)")
    spans = []
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise Refused(
                f"record {info.filename} is compressed ({info.file_size} bytes declared, "
                f"{info.compress_size} stored); torch.save stores every record as it is"
            )
        start = info.header_offset
        if start + _LOCAL.size > cd_offset:
            raise Refused(f"record {info.filename} lies outside the file")
        signature, _, _, method, _, _, _, _, _, name_length, extra = _LOCAL.unpack_from(raw, start)
        data = start + _LOCAL.size + name_length + extra
        if (
            signature != b"PK\x03\x04"
            or method != zipfile.ZIP_STORED
            or raw[start + _LOCAL.size : start + _LOCAL.size + name_length]
            != info.orig_filename.encode()
        ):
            raise Refused(f"record {info.filename}'s header does not match the zip directory")
        spans.append((start, data + info.file_size, info.filename))
    spans.sort()
    for (_, end, name), (next_start, _, _) in zip(spans, spans[1:] + [(cd_offset, 0, "")]):
        if end > next_start:
            raise Refused(f"record {name}'s data overlaps another record or lies outside the file")
    if pickles[0].file_size > caps.pickle:
        raise Refused(f"its data.pkl holds {pickles[0].file_size} bytes (at most {caps.pickle})")


# plain data --------------------------------------------------------------------------------


def check_plain(data: object, caps: Caps) -> None:
    """Refused unless ``data`` (what ``torch.load(weights_only=True)`` returned) is within
    ``caps``: nodes visited, depth, tensors (module docstring). Cost: O(Caps.nodes)."""
    import torch

    stack: list[tuple[object, int]] = [(data, 1)]
    nodes, numel = 0, 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > caps.nodes or depth > caps.depth:
            raise Refused(
                f"its data has more than {caps.nodes} values or is nested deeper than "
                f"{caps.depth} levels (shared or self-referencing lists?)"
            )
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, torch.Tensor):
            numel += _tensor_numel(value)
            if numel > caps.numel:
                raise Refused(f"its tensors hold more than {caps.numel} numbers in all")


def _tensor_numel(tensor: torch.Tensor) -> int:
    """The tensor's number of elements, once it is known to be a plain strided view inside
    its storage: offset + sum((size_i - 1) * stride_i) < the storage's elements."""
    import torch

    if (
        tensor.layout != torch.strided
        or tensor.is_quantized
        or tensor.is_nested
        or tensor.device.type != "cpu"
    ):
        raise Refused(
            f"it holds a {tensor.layout} tensor; probes and save_ec_model write dense ones"
        )
    numel = tensor.numel()
    if numel:
        last = tensor.storage_offset() + sum(
            (size - 1) * stride for size, stride in zip(tensor.shape, tensor.stride())
        )
        if (
            min(tensor.stride(), default=0) < 0
            or (last + 1) * tensor.element_size() > tensor.untyped_storage().nbytes()
        ):
            raise Refused("it holds a tensor view that reaches beyond its storage")
    return numel


def load_torch(raw: bytes, caps: Caps, load: Callable[[bytes], T]) -> T:
    """``load(raw)`` (a ``torch.load(weights_only=True)`` of the bytes), checked before and
    after: Refused or Unreadable, or the plain data."""
    check_torch_zip(raw, caps)
    data = load(raw)
    check_plain(data, caps)
    return data


def read_capped(path: str | os.PathLike[str], caps: Caps) -> bytes:
    """The bytes of a file the grader was handed, never more than ``caps.bytes`` + 1 read."""
    with open(path, "rb") as stream:
        raw = stream.read(caps.bytes + 1)
    if len(raw) > caps.bytes:
        raise Refused(f"the file holds more than the {caps.bytes / MiB:.0f} MB allowed")
    return raw


# JSON --------------------------------------------------------------------------------------

_STRING = re.compile(rb'"[^"]*"')  # once escaped backslashes and quotes are gone
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def check_json(raw: bytes, caps: Caps) -> None:
    """Refused unless the JSON text ``raw`` is within ``caps``: bytes, values, nesting.
    Cost: two passes of C-speed byte operations, and one per level of nesting."""
    if len(raw) > caps.bytes:
        raise Refused(f"it is larger than {caps.bytes / MiB:.3g} MB")
    # what is left of the text once its strings are gone: first the escapes that can hide a
    # quote (\\ and \", left to right as JSON reads them; outside strings JSON has no
    # backslash), then every "..." (a regex with escapes inside takes seconds on 20 MB of them,
    # and so do millions of matches: the strings are counted first, each one a value or a key)
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    if (strings := unescaped.count(b'"') // 2) > caps.nodes:
        raise Refused(
            f"it holds about {strings} JSON strings, more than the {caps.nodes} values allowed"
        )
    skeleton = _STRING.sub(b"", unescaped)
    del unescaped
    values = skeleton.count(b",") + skeleton.count(b"[") + skeleton.count(b"{") + 1
    if values > caps.nodes:
        raise Refused(f"it holds about {values} JSON values, more than the {caps.nodes} allowed")
    brackets = skeleton.translate(None, _NOT_BRACKETS)
    for _ in range(caps.depth):  # each pass removes the innermost level of every nest
        if not brackets:
            return
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    if brackets:
        raise Refused(f"it is nested deeper than {caps.depth} levels, or its brackets do not match")


def load_json(raw: bytes, caps: Caps, **options: Any) -> Any:
    """``json.loads(raw)`` once ``check_json`` passed; ``options`` go to ``json.loads``."""
    check_json(raw, caps)
    return json.loads(raw, **options)
