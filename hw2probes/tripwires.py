"""Tripwires for the isolated run of the optimizer tasks: torch.optim destroyed, not hidden.

Installed by ``hw2probes.isolated`` before any student code runs in the process, in two steps:

    destroy_torch_optim()   every torch.optim submodule imported, then the ``__code__`` of every
                            function defined in torch/optim (module functions, methods, static
                            and class methods, properties, and the functions that
                            ``functools.wraps`` wrappers hold in ``__wrapped__`` or their
                            closure) replaced by a tripwire that raises
                            ``Delegated("torch.optim.<module>.<name>")``. The originals' code is
                            gone: subclassing, ``inspect.getmembers``, ``operator.attrgetter``,
                            ``sys.modules`` and ``gc`` all lead to tripwires. torch's fused
                            optimizer kernels (``torch._fused_adam_``, ``torch._fused_sgd_``, ...,
                            also as ``torch.ops.aten.<op>.<overload>``) get a Python tripwire
                            kernel for CPU (and CUDA) through ``torch.library.Library``.
    guard(out_of_reach)     an audit hook (``sys.addaudithook``: it cannot be removed) that
                            refuses what would bring the originals back or leave this process:
                            see REFUSED. The Library objects that keep the tripwire kernels
                            registered live only in the hook's closure.

Each trip and refusal is recorded (``trips()``): best effort, the student's code runs in this
process and may clear the record; what it cannot do is get torch.optim's code back. This module
holds no secret: reading it helps nobody.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import linecache
import os
import pkgutil
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from hw2checks.probing import Delegated

# audit events refused once guard() is installed (prefixes, by event name): processes, native
# code, the interpreter's object graph, subinterpreters (they have no audit hooks), code from bytes
# (except importlib's own loading of a module's .pyc), tracing
REFUSED = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "ctypes.",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "cpython.PyInterpreterState_New",
    "cpython._PySys_ClearAuditHooks",
    "marshal.loads",
    "marshal.load",
    "sys.setprofile",
    "sys.settrace",
)
# torch's fused optimizer kernels, by op name (every overload of each is covered)
FUSED_OPS = (
    "_fused_adam",
    "_fused_adam_",
    "_fused_adamw",
    "_fused_adamw_",
    "_fused_sgd",
    "_fused_sgd_",
    "_fused_adagrad",
    "_fused_adagrad_",
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

_trips: list[str] = []


def trips(since: int = 0) -> list[str]:
    """What tripped or was refused in this process after the first ``since`` records (see
    ``recorded``), in order, each once."""
    return list(dict.fromkeys(_trips[since:]))


def recorded() -> int:
    """How many trips and refusals were recorded so far (a mark for ``trips``)."""
    return len(_trips)


def _trip(name: str) -> Delegated:
    _trips.append(name)
    return Delegated(name)


def optim_folder() -> str:
    import torch.optim

    return os.path.dirname(os.path.abspath(torch.optim.__file__))


@functools.cache
def _template(free: int) -> types.CodeType:
    """A function body ``raise TRIP(NAME)`` with ``free`` free variables (a function's __code__
    can only be swapped for one with as many); TRIP and NAME are constants filled in later."""
    names = [f"v{i}" for i in range(free)]
    assign = f"    {', '.join(names)} = {', '.join(['None'] * free)}\n" if free else ""
    use = f"        ({', '.join(names)},)\n" if free else ""
    source = (
        f"def outer():\n{assign}    def tripwire(*args, **kwargs):\n{use}"
        f"        raise 'TRIP'('NAME')\n    return tripwire\n"
    )
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():  # "'str' object is not callable": the constant is replaced
        warnings.simplefilter("ignore", SyntaxWarning)
        exec(compile(source, "<tripwire>", "exec"), namespace)
    code: types.CodeType = namespace["outer"]().__code__
    return code


def _tripwire_code(free: int, name: str) -> types.CodeType:
    code = _template(free)
    consts = tuple(_trip if c == "TRIP" else name if c == "NAME" else c for c in code.co_consts)
    return code.replace(co_consts=consts, co_name="tripwire", co_qualname=name)


def _functions(value: object, depth: int = 0) -> Iterator[types.FunctionType]:
    """The Python functions reachable from one attribute value: itself, what a staticmethod,
    classmethod, property or partial holds, and a wrapper's __wrapped__ and closure cells."""
    if depth > 6:
        return
    if isinstance(value, (staticmethod, classmethod)):
        yield from _functions(value.__func__, depth + 1)
    elif isinstance(value, property):
        for part in (value.fget, value.fset, value.fdel):
            yield from _functions(part, depth + 1)
    elif isinstance(value, functools.partial):
        yield from _functions(value.func, depth + 1)
    elif isinstance(value, types.FunctionType):
        yield value
        yield from _functions(getattr(value, "__wrapped__", None), depth + 1)
        for cell in value.__closure__ or ():
            with contextlib.suppress(ValueError):  # an empty cell
                yield from _functions(cell.cell_contents, depth + 1)


def _optim_modules() -> list[types.ModuleType]:
    import torch.optim

    names = {"torch.optim"} | {
        info.name for info in pkgutil.walk_packages(torch.optim.__path__, "torch.optim.")
    }
    modules = []
    for name in sorted(names):
        try:
            modules.append(importlib.import_module(name))
        except Exception:  # an optional dependency missing: that module cannot run either
            continue
    return modules


def destroy_torch_optim() -> int:
    """Replace the code of every function defined in torch/optim by a tripwire; returns how many."""
    folder = optim_folder() + os.sep
    seen: set[int] = set()
    count = 0
    for module in _optim_modules():
        values = list(vars(module).values())
        for value in list(values):
            if isinstance(value, type):
                values += list(vars(value).values())
        for value in values:
            for function in _functions(value):
                if id(function) in seen or not function.__code__.co_filename.startswith(folder):
                    continue
                seen.add(id(function))
                where = getattr(function, "__module__", None) or module.__name__
                function.__code__ = _tripwire_code(
                    len(function.__code__.co_freevars), f"{where}.{function.__qualname__}"
                )
                count += 1
    return count


def _fused_kernel(op_name: str) -> Callable[..., NoReturn]:
    def fused_kernel(*args: object, **kwargs: object) -> NoReturn:
        raise _trip(f"torch.{op_name}")

    return fused_kernel


def fused_tripwires() -> list[object]:
    """Library objects registering a tripwire as the CPU and CUDA kernel of every overload of
    FUSED_OPS. Whoever holds them keeps the tripwires in place; their finalizers are detached, so
    weakref.finalize's registry holds nothing that could unregister them."""
    import weakref

    import torch

    libraries: list[object] = []
    # CUDA's kernels too, on any build: asking torch.cuda.is_available() here would start CUDA
    # before hw2probes.isolated forks, and a forked child could not use the GPU
    keys = ["CPU", "CUDA"]
    with warnings.catch_warnings():  # "overriding a previously registered kernel": the point
        warnings.simplefilter("ignore")
        for key in keys:
            library = torch.library.Library("aten", "IMPL", key)  # type: ignore[no-untyped-call]  # torch.library is untyped
            for op_name in FUSED_OPS:
                packet = getattr(torch.ops.aten, op_name, None)
                for overload in packet.overloads() if packet is not None else ():
                    qualified = op_name if overload == "default" else f"{op_name}.{overload}"
                    library.impl(qualified, _fused_kernel(op_name))  # type: ignore[no-untyped-call]  # untyped too
            libraries.append(library)
    for finalizer in [
        f
        for f, info in list(weakref.finalize._registry.items())  # type: ignore[attr-defined]  # private
        if any(info.weakref() is lib for lib in libraries)
    ]:
        finalizer.detach()
    return libraries


def guard(out_of_reach: list[object]) -> None:
    """Install the audit hook (after this, the hook cannot be removed): refuse REFUSED events,
    imports of torch.optim modules not yet loaded, opening any file in torch's optim folder
    (its sources and bytecode: no reload, no inspect.getsource, no exec of its text), and
    opening any file for writing. ``out_of_reach`` (the fused kernels' Library objects) is kept
    alive by the hook's closure only."""
    folder = optim_folder()
    prefixes = (folder + os.sep, folder)
    linecache.clearcache()  # a source line of torch.optim kept from a traceback is no copy either
    keep = list(out_of_reach)

    def refuse(route: str) -> NoReturn:
        _trips.append(route)
        raise PermissionError(f"refused in the isolated run: {route}")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if keep is None:  # never true: the closure is what keeps the Library objects alive
            return
        if event == "marshal.loads" and sys._getframe(1).f_code.co_filename.startswith(
            "<frozen importlib"
        ):
            return  # importing a module not loaded yet (its .pyc): honest code may import what it likes
        if event.startswith(REFUSED):
            refuse(event)
        elif (
            event == "import"
            and str(args[0]).startswith("torch.optim")
            and args[0] not in sys.modules
        ):
            refuse(f"import {args[0]}")
        elif event == "open":
            path, mode, flags = (list(args) + [None, None])[:3]
            if isinstance(path, int):
                return
            text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
            real = os.path.realpath(text) if text else ""
            if real.startswith(prefixes) or text.startswith(prefixes):
                refuse(f"open {text}")
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and text != os.devnull:
                refuse(f"open {text} for writing")

    sys.addaudithook(hook)


def install() -> None:
    """Both steps: destroy torch.optim and the fused kernels, then guard (the order matters:
    the destruction imports torch/optim's files, which the guard then refuses)."""
    destroy_torch_optim()
    guard(fused_tripwires())
