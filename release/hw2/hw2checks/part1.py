"""Checks of notebook 1: gradient descent by hand, per-coordinate learning rates, and an
SGD optimizer with weight decay (references: ``torch.optim.SGD`` and autograd)."""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

import torch

from hw2checks.aspect import NO_HIDDEN, Hidden, aspect
from hw2checks.probing import Delegated, devices, globals_read, no_torch_optim, plain
from hw2checks.runs import case_seed, current_seed, describe_error
from hw2checks.toolkit import (
    CheckFailed,
    delegation_message,
    expect_close,
    expect_data,
    expect_path,
    fail,
    float64,
    global_variable_hint,
    is_tensor_list,
    tolerance,
)
from hw2utils import (
    BOWL_MATRIX,
    BOWL_START,
    LossFunctionWithPlot,
)

#: A bowl case of Task 1.1: (B, start, lr, steps, dtype), lr a float or one per coordinate.
BowlCase = tuple[list[list[float]], list[float], float | torch.Tensor, int, torch.dtype]
#: How a check makes an optimizer from an iterator over parameters (the student's, or torch's).
MakeOptimizer = Callable[[Iterator[torch.Tensor]], Any]


def torch_sgd_path(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    start: Sequence[float],
    lr: float | torch.Tensor,
    steps: int,
    dtype: torch.dtype = torch.float64,
    clear: bool = True,
) -> list[torch.Tensor]:
    """The points torch.optim.SGD visits on ``loss_fn`` (for checking a hand-written loop), in
    ``dtype``. A per-coordinate (or negative) ``lr`` is done by scaling each gradient as it
    arrives, which equals it step for step. ``clear=False``: zero_grad() is never called, so the
    gradients add up over the steps (a known mistake)."""
    x = torch.tensor(start, dtype=dtype, requires_grad=True)
    scale = torch.as_tensor(lr, dtype=dtype)
    x.register_hook(lambda grad: grad * scale)  # type: ignore[no-untyped-call]  # torch: unannotated
    optimizer = torch.optim.SGD([x], lr=1.0)
    path = []
    for _ in range(steps):
        path.append(x.detach().clone())
        if clear:
            optimizer.zero_grad()
        loss_fn(x).backward()  # type: ignore[no-untyped-call]  # torch: Tensor.backward is unannotated
        optimizer.step()
    return path


def gd_mistakes(
    B: Sequence[Sequence[float]] | torch.Tensor,
    start: Sequence[float],
    lr: float | torch.Tensor,
    steps: int,
    dtype: torch.dtype = torch.float64,
) -> dict[str, torch.Tensor]:
    """The points classic wrong loops of Task 1.1 visit on the bowl ``B`` (as torch_sgd_path
    gives them, stacked), by description."""

    def path(rate: float | torch.Tensor, clear: bool = True) -> torch.Tensor:
        return torch.stack(
            torch_sgd_path(LossFunctionWithPlot(B), start, rate, steps, dtype, clear)
        )

    return {
        "x.grad is never cleared, so gradients add up over steps (set x.grad = None after each "
        "update)": path(lr, clear=False),
        "each step goes uphill (x += lr * x.grad): gradient descent subtracts the gradient": path(
            -torch.as_tensor(lr, dtype=dtype)
        ),
        "lr is missing from the update (x -= x.grad): the step is lr times the gradient": path(1.0),
    }


def final_loss_with(lr: float | torch.Tensor, steps: int = 50) -> float:
    """L after ``steps`` steps of gradient descent from x0 on the bowl with learning rate(s) ``lr``."""
    path = torch_sgd_path(LossFunctionWithPlot(), BOWL_START, lr, steps + 1)
    return LossFunctionWithPlot()(path[-1]).item()


#: Task 1.2 threshold: the best single learning rate ends 50 steps at L ~ 0.105.
PER_DIM_LR_THRESHOLD = 0.05

GD_HINT = (
    "each step is x <- x - lr * x.grad, using the gradient of this step only: clear x.grad "
    "after the update, or gradients pile up"
)
TENSOR_LR_HINT = (
    "with one learning rate per coordinate, x[i] moves by lr[i] * x.grad[i]: multiply the "
    "gradient by lr elementwise (lr * x.grad works for a float and for a tensor of x's "
    "shape, lr @ x.grad or a single number taken from lr does not); if "
    "gd_loop__matches_reference fails too, fix that first"
)
IN_PLACE_HINT = (
    "update x in place (x -= ...) inside torch.no_grad(), return x, then set x.grad = None"
)


# Task 1.1: descend(loss_fn, x, lr, steps) --------------------------------------------------


class RecordingBowl:
    """L(x) = ||B x||, recording each x it is called with (the student's loss_fn)."""

    def __init__(self, B: Sequence[Sequence[float]] | torch.Tensor) -> None:
        self.B = torch.as_tensor(B, dtype=torch.float64)
        self.xs: list[torch.Tensor] = []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.xs.append(x.detach().clone())
        return cast(torch.Tensor, torch.linalg.vector_norm(self.B.to(x) @ x))  # stubbed as Any


# A path is judged within hw2checks.tolerance (1e-6 of its size in float64); an honest loop
# that rounds the rate to float32 (torch.as_tensor(0.1): 6e-8 of it) must stay well inside it.
LR_NUDGE, STEADY_SHARE = 1e-7, 0.25


def steady(
    B: Sequence[Sequence[float]] | torch.Tensor,
    start: Sequence[float],
    lr: float | torch.Tensor,
    steps: int,
) -> bool:
    """Whether the path of ``steps`` steps moves by at most STEADY_SHARE of its tolerance when lr
    grows by LR_NUDGE of itself: ||B x|| has a kink at 0, and a path that bounces around it can
    amplify rounding a thousandfold, so that an honest loop written differently would fail.
    It ships with the checks: its step uses the gradient of ||B x|| written out, the update the
    task's text states (x <- x - lr * grad), not the autograd loop Task 1.1 asks for; only a
    yes/no leaves it, and it uses no torch.optim (which the probe's isolated run forbids)."""
    B = torch.as_tensor(B, dtype=torch.float64)
    lr = torch.as_tensor(lr, dtype=torch.float64)
    x = torch.tensor(start, dtype=torch.float64)
    nudged = x.clone()
    moved, size = 0.0, x.abs().max().item()
    for _ in range(steps):
        for point, rate in ((x, lr), (nudged, lr * (1 + LR_NUDGE))):
            Bx = B @ point
            point -= rate * (B.T @ Bx) / torch.linalg.vector_norm(Bx)
        moved, size = max(moved, (x - nudged).abs().max().item()), max(size, x.abs().max().item())
    return moved <= STEADY_SHARE * 1e-6 * (1 + size)


def random_cases(
    seed: int, n: int, per_coordinate: bool = False, dtype: torch.dtype = torch.float64
) -> list[BowlCase]:
    """n bowls (B, start, lr, steps, dtype): B near 2I, start in [-2, 2]^2, lr in [0.01, 0.31]
    (a float, or a float64 2-vector with ``per_coordinate``), 3 to 12 steps; a case that is not
    ``steady`` is drawn again from the same stream (none is for the default seeds)."""
    g = torch.Generator().manual_seed(seed)
    cases: list[BowlCase] = []
    while len(cases) < n:
        B = torch.randn(2, 2, generator=g, dtype=torch.float64) + 2 * torch.eye(
            2, dtype=torch.float64
        )
        start = (torch.rand(2, generator=g, dtype=torch.float64) * 4 - 2).tolist()
        lr = torch.rand(2 if per_coordinate else (), generator=g, dtype=torch.float64) * 0.3 + 0.01
        steps = int(torch.randint(3, 13, (), generator=g))
        if steady(B, start, lr, steps):
            cases.append((B.tolist(), start, lr if per_coordinate else lr.item(), steps, dtype))
    return cases


def matches_reference_cases() -> list[BowlCase]:
    return random_cases(case_seed(11), 4) + random_cases(case_seed(12), 2, dtype=torch.float32)


def tensor_lr_cases() -> list[BowlCase]:
    return random_cases(case_seed(13), 3, per_coordinate=True)


def descend_paths(
    descend: Callable[..., object], cases: Sequence[BowlCase]
) -> list[dict[str, Any]]:
    """Per case, {"calls": how often descend called loss_fn, "xs": the points it passed, in
    order (at most steps + 1 of them, which is enough to see that there were too many)}."""
    paths = []
    for B, start, lr, steps, dtype in cases:
        L = RecordingBowl(B)
        descend(L, torch.tensor(start, dtype=dtype, requires_grad=True), lr, steps)
        paths.append({"calls": len(L.xs), "xs": [plain(x) for x in L.xs[: steps + 1]]})
    return paths


def reference_path(
    B: Sequence[Sequence[float]] | torch.Tensor,
    start: Sequence[float],
    lr: float | torch.Tensor,
    steps: int,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """The points torch.optim.SGD visits on the bowl ``B`` from ``start``, (steps, 2)."""
    return torch.stack(torch_sgd_path(RecordingBowl(B), start, lr, steps, dtype))


def compare_paths(test_id: str, data: Any, cases: Sequence[BowlCase], hint: str) -> int:
    """Each case's recorded points ({"calls", "xs"} from the probe) against reference_path."""
    expect_data(
        test_id, isinstance(data, list) and len(data) == len(cases), f"expected {len(cases)} paths"
    )
    for (B, start, lr, steps, dtype), path in zip(cases, data):
        case = (
            f"B={[[round(v, 3) for v in row] for row in B]}, start {[round(v, 3) for v in start]}, "
            f"lr {lr if isinstance(lr, float) else [round(v, 4) for v in lr.tolist()]}, {steps} steps, {dtype}"
        )
        expect_data(
            test_id,
            isinstance(path, dict)
            and isinstance(path.get("calls"), int)
            and is_tensor_list(path.get("xs"), min(path["calls"], steps + 1)),
            "a path",
        )
        if path["calls"] != steps:
            fail(
                test_id,
                case,
                f"loss_fn was called {path['calls']} times for {steps} steps",
                "one call of loss_fn per step",
            )
        shapes = {tuple(x.shape) for x in path["xs"]}
        if shapes != {(2,)}:
            fail(
                test_id,
                case,
                f"loss_fn was called with x of shape {sorted(shapes)}",
                "call loss_fn(x) with the tensor x itself",
            )
        expected = reference_path(B, start, lr, steps, dtype)
        got = torch.stack([float64(x) for x in path["xs"]])
        expect_close(
            test_id,
            case,
            expected,
            got,
            tolerance(expected, *path["xs"]),
            hint,
            gd_mistakes(B, start, lr, steps, dtype),
        )
    return len(cases)


def probe_gd_loop__matches_reference(descend: Callable[..., object]) -> list[dict[str, Any]]:
    return descend_paths(descend, matches_reference_cases())


@aspect(probe=probe_gd_loop__matches_reference)
def check_gd_loop__matches_reference(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``descend(loss_fn, x, lr, steps)`` visits the points torch.optim.SGD visits."""
    test_id = "gd_loop__matches_reference"
    return compare_paths(test_id, data, matches_reference_cases(), GD_HINT)


def probe_gd_loop__tensor_lr(descend: Callable[..., object]) -> list[dict[str, Any]]:
    return descend_paths(descend, tensor_lr_cases())


@aspect(probe=probe_gd_loop__tensor_lr)
def check_gd_loop__tensor_lr(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``descend`` accepts one learning rate per coordinate (a tensor of x's shape)."""
    return compare_paths("gd_loop__tensor_lr", data, tensor_lr_cases(), TENSOR_LR_HINT)


# Task 1.1, in place: descend returns x itself, a leaf on its device, with no gradient left -----

IN_PLACE_START, IN_PLACE_LR, IN_PLACE_STEPS = (0.7, -1.1), 0.05, 4
IN_PLACE_SEED = 14


def in_place_start() -> tuple[float, float]:
    """The start of the in-place case on BOWL_MATRIX: IN_PLACE_START outside grading; while
    grading, a ``steady`` point of [-2, 2]^2 drawn from case_seed(IN_PLACE_SEED) (its end is compared)."""
    if current_seed() is None:
        return IN_PLACE_START
    g = torch.Generator().manual_seed(case_seed(IN_PLACE_SEED))
    while True:
        start = tuple((torch.rand(2, generator=g, dtype=torch.float64) * 4 - 2).tolist())
        if steady(BOWL_MATRIX, start, IN_PLACE_LR, IN_PLACE_STEPS):
            return start


def probe_gd_loop__in_place(descend: Callable[..., object]) -> dict[str, dict[str, Any]]:
    """Per device: whether descend returned x itself, and x and x.grad afterwards."""
    runs: dict[str, dict[str, Any]] = {}
    for device in devices():
        x = torch.tensor(in_place_start(), dtype=torch.float64, device=device, requires_grad=True)
        returned = descend(RecordingBowl(BOWL_MATRIX), x, IN_PLACE_LR, IN_PLACE_STEPS)
        runs[device] = {
            "returned_x": returned is x,
            "is_leaf": x.is_leaf,
            "requires_grad": x.requires_grad,
            "device": x.device.type,
            "x": plain(x),
            "grad": None if x.grad is None else plain(x.grad),
        }
    return runs


@aspect(probe=probe_gd_loop__in_place)
def check_gd_loop__in_place(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Per device: descend returned x itself, still a leaf that requires grad on its device,
    with no gradient left, at the point reference_path reaches."""
    test_id = "gd_loop__in_place"
    hint = IN_PLACE_HINT
    expect_data(test_id, isinstance(data, dict), "expected results per device")
    start = in_place_start()
    expected_end = reference_path(BOWL_MATRIX, start, IN_PLACE_LR, IN_PLACE_STEPS + 1)[-1]
    for device in devices():
        run = data.get(device)
        expect_data(
            test_id,
            isinstance(run, dict)
            and isinstance(run.get("x"), torch.Tensor)
            and (run.get("grad") is None or isinstance(run["grad"], torch.Tensor)),
            f"no results on {device}",
        )
        if run.get("returned_x") is not True:
            fail(
                test_id,
                device,
                "descend must return the tensor it was given, updated in place",
                hint,
            )
        if not (
            run.get("is_leaf") is True
            and run.get("requires_grad") is True
            and run.get("device") == device
        ):
            fail(
                test_id,
                device,
                "x is no longer a leaf tensor that requires grad on its device",
                hint,
            )
        if run["grad"] is not None and bool((float64(run["grad"]) != 0).any()):
            fail(test_id, device, "x.grad still holds a gradient after descend", hint)
        expect_close(
            test_id,
            f"{device}: x after {IN_PLACE_STEPS} steps",
            expected_end,
            run["x"],
            tolerance(expected_end, run["x"]),
            hint,
        )
    return len(devices())


# Task 1.2: lr_pair -------------------------------------------------------------------------


def expect_lr_pair(test_id: str, lr_pair: object, shown: str | None = None) -> torch.Tensor:
    """``lr_pair`` as a float64 tensor of two positive numbers, or fail on its format, showing it
    as ``shown`` (its repr by default)."""
    try:
        pair = torch.as_tensor(lr_pair, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        pair = None
    if pair is None or pair.shape != (2,) or not bool((pair > 0).all()):
        fail(
            test_id,
            "format",
            f"expected two positive learning rates, got "
            f"{repr(lr_pair) if shown is None else shown}",
            "e.g. lr_pair = torch.tensor([0.1, 0.5])",
        )
    return pair


def probe_per_dim_lr__beats_single_lr(lr_pair: object) -> dict[str, torch.Tensor | str]:
    """{"rates": float64 tensor} or, for what is not numbers, {"not_numbers": its repr}."""
    try:
        return {"rates": plain(torch.as_tensor(lr_pair, dtype=torch.float64))}
    except (TypeError, ValueError, RuntimeError):
        return {"not_numbers": repr(lr_pair)[:200]}


@aspect(probe=probe_per_dim_lr__beats_single_lr)
def check_per_dim_lr__beats_single_lr(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``lr_pair`` (2 positive numbers) ends 50 steps below ``PER_DIM_LR_THRESHOLD``."""
    test_id = "per_dim_lr__beats_single_lr"
    expect_data(
        test_id,
        isinstance(data, dict)
        and (
            isinstance(data.get("rates"), torch.Tensor) or isinstance(data.get("not_numbers"), str)
        ),
        "expected the rates or what they were",
    )
    pair = (
        expect_lr_pair(test_id, data["rates"])
        if "rates" in data
        else expect_lr_pair(test_id, data["not_numbers"], shown=data["not_numbers"])
    )
    loss = final_loss_with(pair)
    if not loss < PER_DIM_LR_THRESHOLD:
        hint = "use a small rate for the steep x[0] and a much larger one for the shallow x[1]"
        if pair[0] == pair[1]:
            hint = (
                "both coordinates get the same rate: that is a single learning rate, and no single "
                "rate ends 50 steps below 0.1; " + hint
            )
        elif final_loss_with(pair.flip(0)) < PER_DIM_LR_THRESHOLD:
            hint = (
                "the two rates are swapped: x[0] is the steep coordinate and needs the small rate, "
                "x[1] the shallow one and needs the large rate"
            )
        fail(
            test_id,
            f"lr {pair.tolist()}",
            f"final loss {loss:.4f} is not below {PER_DIM_LR_THRESHOLD}",
            hint,
        )
    return 1


#: The parameters the visible optimizer checks train: a scalar, a vector and a matrix.
TOY_SHAPES = [(), (3,), (2, 3)]


def random_parameters(
    seed: int,
    shapes: Sequence[tuple[int, ...]],
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> list[torch.Tensor]:
    """Leaf tensors of ``shapes`` that require grad, drawn from N(0, 1) in float64 with ``seed``
    (so that every dtype gets the same values, rounded), then put in ``dtype`` on ``device``."""
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(shape, generator=g, dtype=torch.float64)
        .to(dtype=dtype, device=device)
        .requires_grad_()
        for shape in shapes
    ]


def leaf_copies(params: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """New leaf tensors that require grad, with the values, dtypes and devices of ``params``."""
    return [p.detach().clone().requires_grad_() for p in params]


def quartic_loss(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """sum_i |p_i - 0.3 i|^2 + 0.05 sum(p_i^4) + sum(sin p_i): a smooth loss of any list of
    parameters, whose gradients vary in size and sign."""
    total: float | torch.Tensor = 0.0
    for index, p in enumerate(params):
        total = total + ((p - 0.3 * index) ** 2).sum() + 0.05 * (p**4).sum() + p.sin().sum()
    return cast(torch.Tensor, total)  # a tensor: no check passes an empty list of parameters


def flat(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """The parameters as one float64 CPU vector."""
    return torch.cat([p.detach().double().cpu().flatten() for p in params])


def run_in_turn(
    # not Sequence[MakeOptimizer], where mypy cannot type a maker `lambda p, kw=kw: ...`
    makers: Sequence[Callable[..., Any]],
    groups: Sequence[Sequence[torch.Tensor]],
    steps: int,
    loss: Callable[[Sequence[torch.Tensor]], torch.Tensor] = quartic_loss,
    clear: Callable[[Any], object] | None = None,
) -> list[torch.Tensor]:
    """Optimizers ``make(iter(params))``, one per maker and group of parameters, all made first,
    then stepped in turn on ``loss``: the parameters (``flat``) after each step, (steps, n), per
    optimizer. Before each backward() the gradients are set to None here, or cleared by
    ``clear(optimizer)``: zero_grad has a check of its own."""
    # iter(): an optimizer gets a one-pass iterator, as net.parameters() is
    optimizers = [make(iter(params)) for make, params in zip(makers, groups)]
    paths: list[list[torch.Tensor]] = [[] for _ in optimizers]
    for _ in range(steps):
        for optimizer, params, path in zip(optimizers, groups, paths):
            if clear is None:
                for p in params:
                    p.grad = None
            else:
                clear(optimizer)
            loss(params).backward()  # type: ignore[no-untyped-call]  # torch: Tensor.backward is unannotated
            optimizer.step()
            path.append(flat(params))
    return [torch.stack(path) for path in paths]


def run_steps(
    make: MakeOptimizer,
    params: Sequence[torch.Tensor],
    steps: int,
    loss: Callable[[Sequence[torch.Tensor]], torch.Tensor] = quartic_loss,
    clear: Callable[[Any], object] | None = None,
) -> torch.Tensor:
    """run_in_turn for the one optimizer ``make(iter(params))``: its path, (steps, n)."""
    return run_in_turn([make], [params], steps, loss, clear)[0]


def _path_of_update(
    init: Sequence[torch.Tensor],
    update: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    steps: int,
    loss: Callable[[Sequence[torch.Tensor]], torch.Tensor],
) -> torch.Tensor:
    """The path (as run_steps gives it) of p <- update(p, grad of loss) from leaf_copies(init)."""
    params = leaf_copies(init)
    path = []
    for _ in range(steps):
        grads = torch.autograd.grad(loss(params), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.copy_(update(p, g))
        path.append(flat(params))
    return torch.stack(path)


def weight_decay_mistakes(
    kwargs: Mapping[str, Any],
    init: Sequence[torch.Tensor],
    steps: int,
    loss: Callable[[Sequence[torch.Tensor]], torch.Tensor] = quartic_loss,
) -> dict[str, torch.Tensor]:
    """The paths (as run_steps gives them) of classic wrong weight-decay updates of
    SimpleGradientDescent(**kwargs) from leaf_copies(init), by description; {} without weight decay."""
    lr, wd = kwargs["lr"], kwargs.get("weight_decay", 0.0)
    if not wd:
        return {}
    updates = {
        "weight decay applied outside the learning rate (p -= lr*g + wd*p)": lambda p, g: (
            p - lr * g - wd * p
        ),
        "weight decay with the wrong sign (p -= lr*(g - wd*p))": lambda p, g: p - lr * (g - wd * p),
        "weight decay on |p| instead of p": lambda p, g: p - lr * (g + wd * p.abs()),
        "weight decay outside the learning rate and with the wrong sign (p -= lr*g - wd*p): the decay "
        "term is wd*p, added to the gradient, and lr scales both": lambda p, g: p - lr * g + wd * p,
        "weight decay on |p| and outside the learning rate (p -= lr*g + wd*|p|): the decay term is "
        "wd*p, added to the gradient, and lr scales both": lambda p, g: p - lr * g - wd * p.abs(),
    }
    mistakes = {
        name: _path_of_update(init, update, steps, loss) for name, update in updates.items()
    }
    mistakes["weight decay ignored"] = run_steps(
        lambda p: torch.optim.SGD(p, lr=lr), leaf_copies(init), steps, loss
    )
    return mistakes


SETTINGS_ON_SELF_HINT = (
    "two optimizers alive at once share nothing: keep the parameters and the settings "
    "on self (self.parameters = list(parameters), self.lr = lr), not on the class "
    "(SimpleGradientDescent.lr = lr)"
)
ITERATOR_HINT = (
    "your optimizer keeps the parameters as the one-pass iterator it was given "
    "(net.parameters() is a generator: the second pass over it finds nothing); store "
    "self.parameters = list(parameters) in __init__"
)
SETTINGS_SHARED = (
    "both optimizers stepped with the settings of the one made last: the settings are "
    "stored on the class (SimpleGradientDescent.lr = lr, or a class attribute), which every "
    "SimpleGradientDescent shares; store them on self (self.lr = lr)"
)
MOMENTUM = (
    "momentum (a velocity kept from step to step): SimpleGradientDescent is plain gradient "
    "descent, each step from this step's gradient alone"
)

# Task 1.3: SimpleGradientDescent(parameters, lr, weight_decay) ------------------------------

SGD_SHAPES = [(), (4,), (3, 2), (2, 2, 2)]
SGD_STEPS = 5
SGD_DTYPES = (torch.float64, torch.float32)
SGD_CASES = {
    "sgd_optimizer__matches_torch": [dict(lr=0.1), dict(lr=0.01), dict(lr=0.5)],
    "sgd_optimizer__weight_decay": [
        dict(lr=0.1, weight_decay=1e-3),
        dict(lr=0.05, weight_decay=0.2),
        dict(lr=0.3, weight_decay=0.05),
    ],
}
OPTIMIZER_ARGUMENTS = ("lr", "weight_decay")
# Two optimizers alive at once, stepped in turn; their settings differ only in what the check is about.
IN_TURN = {
    "sgd_optimizer__matches_torch": (dict(lr=0.1), dict(lr=0.3)),
    "sgd_optimizer__weight_decay": (
        dict(lr=0.1, weight_decay=0.02),
        dict(lr=0.1, weight_decay=0.3),
    ),
}
IN_TURN_SHAPES: tuple[list[tuple[int, ...]], ...] = ([(3,), (2, 2)], [(5,), (2,)])


def sgd_runs(
    check: str, device: str
) -> list[tuple[torch.dtype, dict[str, Any], list[torch.Tensor]]]:
    """(dtype, kwargs, initial parameters) of each run of ``check`` on ``device``; run i of
    all (cpu first, then cuda) starts from random_parameters(case_seed(i), SGD_SHAPES)."""
    cases = list(itertools.product(SGD_DTYPES, SGD_CASES[check]))
    first = ("cpu", "cuda").index(device) * len(cases)
    return [
        (dtype, kwargs, random_parameters(case_seed(first + i), SGD_SHAPES, dtype, device))
        for i, (dtype, kwargs) in enumerate(cases)
    ]


def in_turn_inputs(check: str) -> list[tuple[dict[str, Any], list[torch.Tensor]]]:
    """(kwargs, initial parameters) of the two optimizers that ``check`` steps in turn (float64, CPU)."""
    return [
        (kwargs, random_parameters(case_seed(40 + i), shapes))
        for i, (kwargs, shapes) in enumerate(zip(IN_TURN[check], IN_TURN_SHAPES))
    ]


def in_turn_paths(
    optimizer_cls: Callable[..., Any],
    inputs: Sequence[tuple[Mapping[str, Any], Sequence[torch.Tensor]]],
) -> list[torch.Tensor]:
    """run_in_turn of ``optimizer_cls(params, **kwargs)`` over copies of the parameters of each
    (kwargs, init) of ``inputs``, for SGD_STEPS steps."""
    return run_in_turn(
        [lambda p, kw=kw: optimizer_cls(p, **kw) for kw, _ in inputs],
        [leaf_copies(init) for _, init in inputs],
        SGD_STEPS,
    )


def stores_iterator(optimizer: object) -> bool:
    """Whether the optimizer keeps a one-pass iterator (such as net.parameters()) as an attribute."""
    return any(
        isinstance(value, types.GeneratorType) or type(value).__name__.endswith("iterator")
        for value in vars(optimizer).values()
    )


def sgd_trajectories(check: str, SimpleGradientDescent: Callable[..., Any]) -> dict[str, Any]:
    """{"globals": globals_read, "runs": {device: [{"trajectory": the path of SGD_STEPS steps, as
    run_steps gives it} or {"iterator": True}]}, "in_turn": the two paths of in_turn_paths},
    or {"delegated": name} when it constructs a torch.optim optimizer."""
    runs: dict[str, list[dict[str, Any]]] = {}
    try:
        with no_torch_optim():
            for device in devices():
                runs[device] = []
                for _, kwargs, params in sgd_runs(check, device):
                    optimizer = SimpleGradientDescent(iter(params), **kwargs)
                    runs[device].append(
                        {"iterator": True}
                        if stores_iterator(optimizer)
                        else {"trajectory": run_steps(lambda _: optimizer, params, SGD_STEPS)}
                    )
            in_turn = in_turn_paths(SimpleGradientDescent, in_turn_inputs(check))
    except Delegated as delegated:
        return {"delegated": str(delegated.args[0])}
    return {
        "globals": globals_read(SimpleGradientDescent, OPTIMIZER_ARGUMENTS),
        "runs": runs,
        "in_turn": in_turn,
    }


def refuse_delegation(test_id: str, data: Any) -> None:
    """Fail when the probe's data says the optimizer constructed a torch.optim optimizer."""
    expect_data(test_id, isinstance(data, dict), "expected a dict")
    if "delegated" in data:
        expect_data(test_id, isinstance(data["delegated"], str), "the delegated optimizer's name")
        raise CheckFailed(delegation_message(test_id, data["delegated"][:80]))


def momentum_mistake(
    kwargs: Mapping[str, Any], init: Sequence[torch.Tensor], got: torch.Tensor
) -> dict[str, torch.Tensor]:
    """{MOMENTUM: the path (as run_steps gives it, as many steps as ``got``) of torch.optim.SGD
    with momentum 0.9 from copies of ``init``}. The grader's own, in its place, fits the momentum
    to ``got``."""
    return {
        MOMENTUM: run_steps(
            lambda p: torch.optim.SGD(p, momentum=0.9, **kwargs), leaf_copies(init), len(got)
        )
    }


def trajectory_of(test_id: str, value: Any, init: Sequence[torch.Tensor]) -> torch.Tensor:
    """A path of the probe's (as run_steps gives it), (SGD_STEPS, n) for parameters like ``init``."""
    n = sum(p.numel() for p in init)
    expect_data(
        test_id,
        isinstance(value, torch.Tensor)
        and value.dtype == torch.float64
        and value.shape == (SGD_STEPS, n),
        f"a trajectory of {SGD_STEPS} steps of {n} values",
    )
    return cast(torch.Tensor, value)  # a tensor: checked by expect_data above


def compare_in_turn(test_id: str, data: dict[str, Any], hint: str) -> None:
    """The two paths of in_turn_paths against torch.optim.SGD's."""
    got: Any = data.get("in_turn")
    inputs = in_turn_inputs(test_id)
    expect_data(
        test_id,
        isinstance(got, list) and len(got) == 2,
        "the trajectories of two optimizers stepped in turn",
    )
    got = [trajectory_of(test_id, trajectory, init) for trajectory, (_, init) in zip(got, inputs)]
    expected = in_turn_paths(torch.optim.SGD, inputs)
    (first, _), (last, _) = inputs
    for index, ((_kwargs, init), want, have) in enumerate(zip(inputs, expected, got)):
        case = (
            f"two SimpleGradientDescent alive at once, {first} and {last}, stepped in turn: the "
            f"{('first', 'second')[index]}, with parameters of shapes {[tuple(p.shape) for p in init]}"
        )
        expect_path(
            test_id,
            case,
            want,
            have,
            tolerance(want),
            f"{SETTINGS_ON_SELF_HINT}; {hint}",
            lambda: {SETTINGS_SHARED: in_turn_paths(torch.optim.SGD, [(last, init)] * 2)[0]},
        )


def compare_with_sgd(test_id: str, data: Any, hint: str, hidden: Hidden) -> int:
    """Each run's trajectory (from the probe) against torch.optim.SGD's from the same start, and
    two optimizers stepped in turn; returns how many cases passed. The mistakes named: weight
    decay's (weight_decay_mistakes) and momentum (``hidden["momentum"]`` in the grader, else
    momentum_mistake)."""
    refuse_delegation(test_id, data)
    names, runs = data.get("globals"), data.get("runs")
    expect_data(
        test_id,
        isinstance(names, list)
        and set(names) <= set(OPTIMIZER_ARGUMENTS)
        and isinstance(runs, dict),
        "expected the globals read and the runs",
    )
    leaked = global_variable_hint(names)
    momentum: Callable[
        [Mapping[str, Any], Sequence[torch.Tensor], torch.Tensor], dict[str, torch.Tensor]
    ] = hidden.get("momentum", momentum_mistake)
    n = 0
    for device in devices():
        got_runs = runs.get(device)
        expect_data(
            test_id,
            isinstance(got_runs, list) and all(isinstance(run, dict) for run in got_runs),
            f"no runs on {device}",
        )
        cases = sgd_runs(test_id, device)
        expect_data(test_id, len(got_runs) == len(cases), f"{len(cases)} runs on {device}")
        for (dtype, kwargs, init), run in zip(cases, got_runs):
            if run.get("iterator") is True:
                fail(test_id, "__init__", "the optimizer stores an iterator", ITERATOR_HINT)
            got = trajectory_of(test_id, run.get("trajectory"), init)
            expected = run_steps(
                lambda p: torch.optim.SGD(p, **kwargs), leaf_copies(init), SGD_STEPS
            )

            def mistakes(
                kwargs: Mapping[str, Any] = kwargs,
                init: Sequence[torch.Tensor] = init,
                got: torch.Tensor = got,
            ) -> dict[str, torch.Tensor]:
                if leaked:  # a global read is what to fix first
                    return {}
                return {
                    **weight_decay_mistakes(kwargs, init, SGD_STEPS),
                    **momentum(kwargs, init, got),
                }

            case = f"{kwargs}, {device}, {dtype}, 4 parameter tensors of shapes {SGD_SHAPES}"
            expect_path(
                test_id, case, expected, got, tolerance(expected, dtype), leaked or hint, mistakes
            )
            n += 1
    compare_in_turn(test_id, data, leaked or hint)
    return n + 1


def probe_sgd_optimizer__matches_torch(SimpleGradientDescent: Callable[..., Any]) -> dict[str, Any]:
    return sgd_trajectories("sgd_optimizer__matches_torch", SimpleGradientDescent)


@aspect(probe=probe_sgd_optimizer__matches_torch)
def check_sgd_optimizer__matches_torch(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``SimpleGradientDescent`` without weight decay steps as torch.optim.SGD does, also with two
    alive at once."""
    return compare_with_sgd(
        "sgd_optimizer__matches_torch",
        data,
        "step() updates every stored parameter in place: p -= lr * p.grad",
        hidden,
    )


def probe_sgd_optimizer__weight_decay(SimpleGradientDescent: Callable[..., Any]) -> dict[str, Any]:
    return sgd_trajectories("sgd_optimizer__weight_decay", SimpleGradientDescent)


@aspect(probe=probe_sgd_optimizer__weight_decay)
def check_sgd_optimizer__weight_decay(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``SimpleGradientDescent`` with weight decay steps as torch.optim.SGD(weight_decay=...) does."""
    return compare_with_sgd(
        "sgd_optimizer__weight_decay",
        data,
        "with L = L_obj + (wd/2)|p|^2 the gradient is g + wd*p, and the step is lr times it",
        hidden,
    )


#: zero_grad checks: the rounds of zero_grad(), backward() and step() compared with the same
#: rounds with the gradients set to None by hand.
ZERO_GRAD_ROUNDS = 3
ZERO_GRAD_HINT = (
    "store list(parameters) in __init__ (a generator can be read only once) and set "
    "p.grad = None for each"
)
ZERO_GRAD_BEFORE_BACKWARD_HINT = (
    "until the first backward() every p.grad is None, and a training loop "
    "calls zero_grad() first (this notebook's does): set p.grad = None, which "
    "works either way, or skip a p whose p.grad is None"
)


def zero_grad_keeps_hint(keeps: str) -> str:
    return f"zero_grad() only clears the gradients: it must leave {keeps} as they are"


def expect_same_rounds(
    test_id: str, by_hand: torch.Tensor, with_it: torch.Tensor, keeps: str
) -> None:
    """Fail unless the rounds with zero_grad() (``with_it``, as run_steps gives them) go where the
    rounds with the gradients set to None by hand go; ``keeps``: what zero_grad() must leave alone."""
    expect_path(
        test_id,
        f"{ZERO_GRAD_ROUNDS} rounds of zero_grad(), backward(), step()",
        by_hand,
        with_it,
        tolerance(by_hand),
        zero_grad_keeps_hint(keeps),
        what="expected what the same rounds do with p.grad = None in place of zero_grad(),",
    )


def _zero_grad_rounds(test_id: str, data: Any, key: str) -> torch.Tensor | str:
    """A path of ``hw2checks.probing.exercise_zero_grad`` ((rounds, n) float64), or what it raised (str)."""
    rounds = data.get(key)
    if isinstance(rounds, dict):
        expect_data(test_id, isinstance(rounds.get("raised"), str), f"what the rounds {key} raised")
        return cast(str, rounds["raised"])  # a str: checked by expect_data above
    expect_data(
        test_id,
        isinstance(rounds, torch.Tensor) and rounds.dim() == 2 and rounds.dtype == torch.float64,
        f"the rounds {key} zero_grad()",
    )
    return cast(torch.Tensor, rounds)  # a tensor: checked by expect_data above


def zero_grad_cases(test_id: str, data: Any, n_params: int, keeps: str) -> int:
    """zero_grad() (``hw2checks.probing.exercise_zero_grad``'s data) raises nothing before or after
    backward(), leaves no gradient, and changes nothing else: the rounds with it end where
    those with the gradients cleared by hand do. ``keeps``: what zero_grad() must leave alone.
    Returns how many cases passed."""
    expect_data(test_id, isinstance(data, dict), "expected a dict")
    if "raised" in data:
        expect_data(
            test_id,
            isinstance(data["raised"], str)
            and data.get("when") in ("before any backward()", "after backward()"),
            "what zero_grad() raised",
        )
        hint = (
            ZERO_GRAD_HINT
            + "; the stored list is used as it is: self.parameters, not self.parameters()"
        )
        if "NoneType" in data["raised"]:
            hint = ZERO_GRAD_BEFORE_BACKWARD_HINT
        fail(test_id, f"zero_grad() {data['when']}", f"zero_grad() raised {data['raised']}", hint)
    grads = data.get("grads")
    expect_data(
        test_id,
        isinstance(grads, list)
        and len(grads) == n_params
        and all(g is None or isinstance(g, torch.Tensor) for g in grads),
        "the gradients",
    )
    for index, grad in enumerate(grads):
        if grad is not None and bool((float64(grad) != 0).any()):
            fail(
                test_id,
                f"parameter {index} of {len(grads)}",
                "zero_grad() left its gradient",
                ZERO_GRAD_HINT,
            )
    with_it, by_hand = (
        _zero_grad_rounds(test_id, data, "with"),
        _zero_grad_rounds(test_id, data, "without"),
    )
    if isinstance(by_hand, str) or not bool(torch.isfinite(by_hand).all()):
        return 2  # step() itself fails: that is for the other checks to say
    if isinstance(with_it, str):
        fail(
            test_id,
            "rounds of zero_grad(), backward(), step()",
            f"with zero_grad() they raised {with_it}, and not with p.grad = None in its place",
            zero_grad_keeps_hint(keeps),
        )
    expect_data(test_id, with_it.shape == by_hand.shape, "rounds of the same shape")
    expect_same_rounds(test_id, by_hand, with_it, keeps)
    return 3


def _rounds(
    make: MakeOptimizer,
    init: Sequence[torch.Tensor],
    clear: Callable[[Any], object] | None = None,
) -> torch.Tensor | dict[str, str]:
    """hw2checks.run_steps for ZERO_GRAD_ROUNDS rounds over copies of ``init`` (the gradients set to
    None by hand, or cleared by ``clear(optimizer)``), or {"raised": ...} when a round raised."""
    try:
        return run_steps(make, leaf_copies(init), ZERO_GRAD_ROUNDS, clear=clear)
    except Delegated:
        raise
    except Exception as exc:  # the student's code: what it raised is the check's data
        return {"raised": describe_error(exc)}


def exercise_zero_grad(make: MakeOptimizer, init: Sequence[torch.Tensor]) -> dict[str, Any]:
    """zero_grad() as a training loop calls it, on copies of ``init`` in ``make(iter(params))``:
    before any backward() (every p.grad is None), after backward() twice, and between steps.
    {"raised": what zero_grad() raised, "when": "before any backward()" or "after backward()"}, or
    {"grads": each gradient after the second backward() and zero_grad() (or None), "with": the
    rounds (see _rounds) with zero_grad(), "without": the same rounds with p.grad = None instead}."""
    params = leaf_copies(init)
    optimizer = make(iter(params))
    for when in ("before any backward()", "after backward()", "after backward()"):
        if when != "before any backward()":
            quartic_loss(params).backward()  # type: ignore[no-untyped-call]  # torch: Tensor.backward is unannotated
        try:
            optimizer.zero_grad()
        except Delegated:
            raise
        except Exception as exc:  # the student's zero_grad: the judge says what it raised, and when
            return {"raised": describe_error(exc), "when": when}
    return {
        "grads": [None if p.grad is None else plain(p.grad) for p in params],
        "with": _rounds(make, init, lambda optimizer: optimizer.zero_grad()),
        "without": _rounds(make, init),
    }


SGD_ZERO_GRAD_SEED = 5


def probe_sgd_optimizer__zero_grad(SimpleGradientDescent: Callable[..., Any]) -> dict[str, Any]:
    """exercise_zero_grad's data, or {"delegated": name}."""
    init = random_parameters(case_seed(SGD_ZERO_GRAD_SEED), SGD_SHAPES)
    try:
        with no_torch_optim():
            return exercise_zero_grad(lambda params: SimpleGradientDescent(params, lr=0.1), init)
    except Delegated as delegated:
        return {"delegated": str(delegated.args[0])}


@aspect(probe=probe_sgd_optimizer__zero_grad)
def check_sgd_optimizer__zero_grad(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """zero_grad() raises nothing before or after backward(), leaves no gradient (None or zeros),
    and changes nothing else."""
    test_id = "sgd_optimizer__zero_grad"
    refuse_delegation(test_id, data)
    return zero_grad_cases(
        test_id, data, len(SGD_SHAPES), "the parameters' values and the settings"
    )
