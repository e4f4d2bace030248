"""Hidden checks of notebook 1: gradient descent by hand, per-coordinate rates, SGD with weight decay."""
from __future__ import annotations

import types

import torch

from autograder.checks.common import (devices, expect_close, fail, global_variable_hint,
                                      no_torch_optim, passed, quartic_loss, random_parameters)

BOWL = ((2.3, -0.3), (-0.5, 0.2))
BOWL_START = (-1.5, 1.2)
PER_DIM_LR_THRESHOLD = 0.05  # the best single learning rate ends 50 steps at L ~ 0.105


class RecordingBowl:
    """L(x) = ||B x||, recording each x it is called with (the student's loss_fn)."""

    def __init__(self, B):
        self.B = torch.as_tensor(B, dtype=torch.float64)
        self.xs = []

    def __call__(self, x):
        self.xs.append(x.detach().clone())
        return torch.linalg.vector_norm(self.B.to(x) @ x)


def reference_path(B, start, lr, steps, dtype=torch.float64):
    """Points visited by gradient descent x <- x - lr * grad L(x), lr a float or a 2-vector."""
    x = torch.tensor(start, dtype=dtype, requires_grad=True)
    lr = torch.as_tensor(lr, dtype=dtype)
    L, path = RecordingBowl(B), []
    for _ in range(steps):
        path.append(x.detach().clone())
        grad, = torch.autograd.grad(L(x), x)
        with torch.no_grad():
            x -= lr * grad
    return path, x.detach()


def _random_cases(seed, n, per_coordinate=False):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        B = torch.randn(2, 2, generator=g, dtype=torch.float64) + 2 * torch.eye(2, dtype=torch.float64)
        start = (torch.rand(2, generator=g, dtype=torch.float64) * 4 - 2).tolist()
        lr = (torch.rand(2 if per_coordinate else (), generator=g, dtype=torch.float64) * 0.3 + 0.01)
        steps = int(torch.randint(3, 13, (), generator=g))
        yield B.tolist(), start, lr if per_coordinate else lr.item(), steps


def _compare_paths(test_id, descend, cases, dtype=torch.float64, tol=1e-9):
    count = 0
    for B, start, lr, steps in cases:
        case = f"B={[[round(v, 3) for v in row] for row in B]}, start {[round(v, 3) for v in start]}, " \
               f"lr {lr if isinstance(lr, float) else [round(v, 4) for v in lr.tolist()]}, {steps} steps, {dtype}"
        L = RecordingBowl(B)
        descend(L, torch.tensor(start, dtype=dtype, requires_grad=True), lr, steps)
        expected, _ = reference_path(B, start, lr, steps, dtype)
        if len(L.xs) != steps:
            fail(test_id, case, f"loss_fn was called {len(L.xs)} times for {steps} steps",
                 "one call of loss_fn per step")
        stale = reference_path_accumulating(B, start, lr, steps, dtype)
        uphill, _ = reference_path(B, start, -torch.as_tensor(lr, dtype=dtype), steps, dtype)
        no_rate, _ = reference_path(B, start, 1.0, steps, dtype)
        expect_close(test_id, case, torch.stack(expected), torch.stack(L.xs), tol,
                     "each step is x <- x - lr * x.grad with this step's gradient",
                     mistakes={"x.grad is never cleared, so gradients add up over steps": stale,
                               "each step goes uphill (x += lr * x.grad): gradient descent "
                               "subtracts the gradient": torch.stack(uphill),
                               "lr is missing from the update (x -= x.grad): the step is lr "
                               "times the gradient": torch.stack(no_rate)})
        count += 1
    return count


def reference_path_accumulating(B, start, lr, steps, dtype):
    """What a loop that forgets to clear x.grad visits (for the diagnostic)."""
    x = torch.tensor(start, dtype=dtype, requires_grad=True)
    lr = torch.as_tensor(lr, dtype=dtype)
    L, path = RecordingBowl(B), []
    for _ in range(steps):
        path.append(x.detach().clone())
        L(x).backward()
        with torch.no_grad():
            x -= lr * x.grad
    return torch.stack(path)


def check_gd_loop__matches_reference(descend):
    test_id = "gd_loop__matches_reference"
    n = _compare_paths(test_id, descend, _random_cases(11, 4))
    n += _compare_paths(test_id, descend, _random_cases(12, 2), dtype=torch.float32, tol=1e-4)
    passed(test_id, n)


def check_gd_loop__in_place(descend):
    test_id = "gd_loop__in_place"
    hint = "update x in place under torch.no_grad() (x -= ...), return x, and clear x.grad"
    for device in devices():
        x = torch.tensor([0.7, -1.1], dtype=torch.float64, device=device, requires_grad=True)
        returned = descend(RecordingBowl(BOWL), x, 0.05, 4)
        if returned is not x:
            fail(test_id, device, "descend must return the tensor it was given, updated in place", hint)
        if not (x.is_leaf and x.requires_grad) or x.device.type != device:
            fail(test_id, device, "x is no longer a leaf tensor that requires grad on its device", hint)
        if x.grad is not None and x.grad.abs().max().item() != 0:
            fail(test_id, device, "x.grad still holds a gradient after descend", hint)
        _, expected_end = reference_path(BOWL, [0.7, -1.1], 0.05, 4)
        expect_close(test_id, f"{device}: x after 4 steps", expected_end, x.detach().cpu(), 1e-9, hint)
    passed(test_id, len(devices()))


def check_gd_loop__tensor_lr(descend):
    test_id = "gd_loop__tensor_lr"
    passed(test_id, _compare_paths(test_id, descend, _random_cases(13, 3, per_coordinate=True)))


def check_per_dim_lr__beats_single_lr(lr_pair):
    test_id = "per_dim_lr__beats_single_lr"
    try:
        pair = torch.as_tensor(lr_pair, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        fail(test_id, "format", f"expected two learning rates, got {lr_pair!r}", "a tensor of 2 numbers")
    if pair.shape != (2,) or not bool((pair > 0).all()):
        fail(test_id, "format", f"expected two positive learning rates, got {lr_pair!r}",
             "a tensor of 2 positive numbers")
    loss = _final_loss(pair)
    if not loss < PER_DIM_LR_THRESHOLD:
        hint = "use a small rate for the steep x[0] and a much larger one for the shallow x[1]"
        if pair[0] == pair[1]:
            hint = ("both coordinates get the same rate: that is a single learning rate, and no single "
                    "rate ends 50 steps below 0.1; " + hint)
        elif _final_loss(pair.flip(0)) < PER_DIM_LR_THRESHOLD:
            hint = ("the two rates are swapped: x[0] is the steep coordinate and needs the small rate, "
                    "x[1] the shallow one and needs the large rate")
        fail(test_id, f"lr {pair.tolist()}", f"final loss {loss:.4f} is not below {PER_DIM_LR_THRESHOLD}",
             hint)
    passed(test_id, 1)


def _final_loss(pair: torch.Tensor) -> float:
    """L after 50 steps of gradient descent on the bowl from x0 with the rates ``pair``."""
    _, end = reference_path(BOWL, BOWL_START, pair, 50)
    return torch.linalg.vector_norm(torch.tensor(BOWL, dtype=torch.float64) @ end).item()


SGD_CASES = [dict(lr=0.1), dict(lr=0.01), dict(lr=0.5)]
SHAPES = [(), (4,), (3, 2), (2, 2, 2)]


OPTIMIZER_ARGUMENTS = ("lr", "weight_decay")
GENERATOR_HINT = ("your optimizer keeps the parameters as the one-pass iterator it was given "
                  "(net.parameters() is a generator: the second pass over it finds nothing); store "
                  "self.parameters = list(parameters) in __init__")


def run_sgd(test_id, make, params, steps: int) -> list[list[torch.Tensor]]:
    """Parameters after each of ``steps`` steps of ``make(iter(params))`` on quartic_loss. The
    gradients are cleared here, not by zero_grad(), which has a check of its own."""
    optimizer = make(iter(params))
    if any(isinstance(value, types.GeneratorType) or type(value).__name__.endswith("iterator")
           for value in vars(optimizer).values()):
        fail(test_id, "__init__", "the optimizer stores an iterator", GENERATOR_HINT)
    trajectory = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        quartic_loss(params).backward()
        optimizer.step()
        trajectory.append([p.detach().clone() for p in params])
    return trajectory


def _compare_with_sgd(test_id, SimpleGradientDescent, cases, hint, mistakes_for=None):
    n = 0
    leaked = global_variable_hint(SimpleGradientDescent, OPTIMIZER_ARGUMENTS)
    for device in devices():
        for dtype, tol in [(torch.float64, 1e-9), (torch.float32, 1e-5)]:
            for kwargs in cases:
                g = torch.Generator().manual_seed(n)
                init = random_parameters(g, SHAPES, dtype, device)
                with no_torch_optim(test_id):
                    got = run_sgd(test_id, lambda p: SimpleGradientDescent(p, **kwargs),
                                  [p.detach().clone().requires_grad_() for p in init], 5)
                expected = run_sgd(test_id, lambda p: torch.optim.SGD(p, **kwargs),
                                   [p.detach().clone().requires_grad_() for p in init], 5)
                mistakes = mistakes_for(kwargs, init) if mistakes_for and not leaked else {}
                case = f"{kwargs}, {device}, {dtype}, 4 parameter tensors of shapes {SHAPES}"
                for step in range(5):
                    expect_close(test_id, f"{case}, after step {step + 1}",
                                 torch.cat([e.flatten() for e in expected[step]]),
                                 torch.cat([q.flatten() for q in got[step]]), tol, leaked or hint,
                                 {k: v[step] for k, v in mistakes.items()})
                n += 1
    passed(test_id, n)


def _weight_decay_mistakes(kwargs, init):
    """What the classic wrong weight-decay updates produce, step by step."""
    lr, wd = kwargs["lr"], kwargs["weight_decay"]
    variants = {
        "weight decay applied outside the learning rate (p -= lr*g + wd*p)":
            lambda p, g: p - lr * g - wd * p,
        "weight decay with the wrong sign (p -= lr*(g - wd*p))": lambda p, g: p - lr * (g - wd * p),
        "weight decay on |p| instead of p": lambda p, g: p - lr * (g + wd * p.abs()),
        "weight decay ignored": lambda p, g: p - lr * g,
    }
    out = {}
    for name, update in variants.items():
        params = [p.detach().clone().requires_grad_() for p in init]
        steps = []
        for _ in range(5):
            for p in params:
                p.grad = None
            quartic_loss(params).backward()
            with torch.no_grad():
                for p in params:
                    p.copy_(update(p, p.grad))
            steps.append(torch.cat([p.detach().flatten() for p in params]))
        out[name] = steps
    return out


def check_sgd_optimizer__matches_torch(SimpleGradientDescent):
    _compare_with_sgd("sgd_optimizer__matches_torch", SimpleGradientDescent, SGD_CASES,
                      "step() updates every stored parameter in place: p -= lr * p.grad")


def check_sgd_optimizer__weight_decay(SimpleGradientDescent):
    cases = [dict(lr=0.1, weight_decay=1e-3), dict(lr=0.05, weight_decay=0.2),
             dict(lr=0.3, weight_decay=0.05)]
    _compare_with_sgd("sgd_optimizer__weight_decay", SimpleGradientDescent, cases,
                      "with L = L_obj + (wd/2)|p|^2 the gradient is g + wd*p, and the step is lr times it",
                      _weight_decay_mistakes)


def check_sgd_optimizer__zero_grad(SimpleGradientDescent):
    test_id = "sgd_optimizer__zero_grad"
    params = random_parameters(torch.Generator().manual_seed(5), SHAPES)
    hint = ("store list(parameters) in __init__ (a generator can be read only once) and "
            "set p.grad = None for each")
    with no_torch_optim(test_id):
        optimizer = SimpleGradientDescent((p for p in params), lr=0.1)
        for _ in range(2):
            quartic_loss(params).backward()
            try:
                optimizer.zero_grad()
            except Exception as err:  # the student's code: report it as a failed check
                fail(test_id, "zero_grad()", f"zero_grad() raised {type(err).__name__}: {err}",
                     hint + "; the stored list is used as it is: self.parameters, not self.parameters()")
    for index, p in enumerate(params):
        if p.grad is not None and p.grad.abs().max().item() != 0:
            fail(test_id, f"parameter {index} of {len(params)}", "zero_grad() left its gradient", hint)
    passed(test_id, 1)
