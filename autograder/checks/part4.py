"""Hidden checks of notebook 4: weight initializers (4.1-4.5), the re-initializing wrappers
(4.6, 4.8) and the networks trained with them (4.7, 4.9).

Statistics are compared within Z standard errors: for n independent draws with standard
deviation s, the sample mean has standard error s/sqrt(n) and the sample standard deviation
about s/sqrt(2n) (normal draws; less for uniform ones). With Z = 6 a correct answer fails by
chance with probability about 2e-9 per comparison, while every misconception listed below
lies dozens of tolerances away on the shapes used.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from autograder.checks import part3
from autograder.checks.common import devices, expect_close, fail, passed

Z = 6.0


def tolerances(std: float, n: int) -> tuple[float, float]:
    """(tolerance on the mean, tolerance on the standard deviation) for n draws of std ``std``."""
    return Z * std / math.sqrt(n), Z * std / math.sqrt(2 * n)


# 4.1-4.5: initializers init_fn(n_in, n_out, generator) -> (n_in, n_out) -----------------

def draw(test_id: str, init_fn, n_in: int, n_out: int, seed: int) -> torch.Tensor:
    """``init_fn(n_in, n_out, generator)`` checked for type, shape and dtype; as float64."""
    case = f"shape ({n_in}, {n_out})"
    W = init_fn(n_in, n_out, torch.Generator().manual_seed(seed))
    if not isinstance(W, torch.Tensor):
        fail(test_id, case, f"expected a torch.Tensor, got {type(W).__name__}",
             "build the matrix with torch, drawing from the generator argument")
    if tuple(W.shape) != (n_in, n_out):
        transposed = tuple(W.shape) == (n_out, n_in) and n_in != n_out
        fail(test_id, case, f"expected shape ({n_in}, {n_out}), got {tuple(W.shape)}",
             "the matrix is transposed: rows index the layer's inputs (activations @ W)"
             if transposed else "return a matrix of shape (n_in, n_out)")
    if not W.is_floating_point():
        fail(test_id, case, f"expected a floating-point tensor, got {W.dtype}",
             "weights are real numbers: keep torch's default float32")
    return W.detach().double().cpu()


def check_statistics(test_id: str, init_fn, shapes, stds, mistakes, hint: str, seed: int) -> int:
    """Mean 0 and a std in ``stds(n_in, n_out)`` for every shape; ``mistakes(n_in, n_out)``
    maps a misconception to the std it produces, to name it in the message."""
    for index, (n_in, n_out) in enumerate(shapes):
        W = draw(test_id, init_fn, n_in, n_out, seed + index)
        n, accepted = W.numel(), stds(n_in, n_out)
        case = f"shape ({n_in}, {n_out})"
        mean, std = W.mean().item(), W.std().item()
        if not any(abs(std - s) <= tolerances(s, n)[1] for s in accepted):
            known = [name for name, s in mistakes(n_in, n_out).items()
                     if abs(std - s) <= tolerances(s, n)[1]]
            fail(test_id, case, f"expected standard deviation "
                 f"{' or '.join(f'{s:.4g}' for s in accepted)}, got {std:.4g}; tolerance "
                 f"{tolerances(accepted[0], n)[1]:.2g} ({Z:g} standard errors for {n} draws)",
                 f"your weights match a known mistake: {known[0]}" if known else hint)
        mean_tol = tolerances(max(accepted), n)[0]
        if not abs(mean) <= mean_tol:
            fail(test_id, case, f"expected mean 0, got {mean:.4g}; tolerance {mean_tol:.2g} "
                 f"({Z:g} standard errors for {n} draws)", "draw weights centred on 0")
    return len(shapes)


def check_shapes_only(test_id: str, init_fn, shapes) -> int:
    """Tiny and odd shapes: only type, shape, dtype and finiteness."""
    for index, (n_in, n_out) in enumerate(shapes):
        W = draw(test_id, init_fn, n_in, n_out, 900 + index)
        if not bool(torch.isfinite(W).all()):
            fail(test_id, f"shape ({n_in}, {n_out})", "the matrix holds inf or nan",
                 "every weight must be a finite number")
    return len(shapes)


def check_generator(test_id: str, init_fn, shapes, seed: int) -> int:
    """Generators seeded alike give the same matrix whatever the global random state;
    generators seeded differently give different matrices."""
    hint = ("draw every random number from the generator argument, e.g. "
            "torch.randn(n_in, n_out, generator=generator)")
    for index, (n_in, n_out) in enumerate(shapes):
        case = f"shape ({n_in}, {n_out})"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 2 * index)
            first = draw(test_id, init_fn, n_in, n_out, seed)
            torch.manual_seed(seed + 2 * index + 1)
            again = draw(test_id, init_fn, n_in, n_out, seed)
            other = draw(test_id, init_fn, n_in, n_out, seed + 1)
        if not torch.equal(first, again):
            fail(test_id, case, "two generators with the same seed gave different matrices",
                 hint + "; torch.randn without generator= (or np.random) reads the global random state")
        if torch.equal(first, other):
            fail(test_id, case, "generators with different seeds gave the same matrix", hint)
    return len(shapes)


SHAPES = [(2048, 2048), (1000, 250), (250, 1000), (300, 700)]
ODD_SHAPES = [(1, 1), (3, 7), (7, 3), (1, 500)]
GENERATOR_SHAPES = [(64, 64), (120, 30), (30, 120)]


def small_mistakes(n_in, n_out):
    return {"std 1: the factor 0.01 is missing": 1.0,
            "std 0.0001: the factor 0.01 was applied twice": 1e-4,
            "std 0.05: that is the large scale of Task 4.3": 0.05,
            "uniform on [-0.01, 0.01] (std 0.0058) instead of 0.01 times a standard normal":
                0.01 / math.sqrt(3)}


def large_mistakes(n_in, n_out):
    return {"std 5 instead of 0.05: N(0, 1) times 5, without the factor 0.01": 5.0,
            "std 1: the factor 0.05 is missing": 1.0,
            "std 0.01: that is the small scale of Task 4.2": 0.01,
            "std 0.224 = sqrt(0.05): 0.05 was used as the variance": math.sqrt(0.05)}


def xavier_stds(n_in, n_out):
    """N(0, 1/n_in) as the task asks; Glorot's variance 2/(n_in + n_out) (xavier_normal_, and
    the std of xavier_uniform_) is accepted too: the two agree on square matrices."""
    return sorted({round(1 / math.sqrt(n_in), 12), round(math.sqrt(2 / (n_in + n_out)), 12)})


def xavier_mistakes(n_in, n_out):
    return {"Xavier-uniform with limit 1/sqrt(n_in): U(-a, a) has std a/sqrt(3), so this std is "
            "1/sqrt(3 n_in); Glorot's uniform limit is sqrt(6/(n_in + n_out))": 1 / math.sqrt(3 * n_in),
            "std 1/n_in: the variance 1/n_in was used as the standard deviation": 1 / n_in,
            "variance 2/n_in: that is He's scale (Task 4.5)": math.sqrt(2 / n_in),
            "variance 1/n_out: the fan-out instead of the fan-in": 1 / math.sqrt(n_out),
            "std 1: the factor 1/sqrt(n_in) is missing": 1.0}


def he_mistakes(n_in, n_out):
    return {"variance 2/n_out: the fan-out instead of the fan-in (nn.init.kaiming_normal_ on an "
            "(n_in, n_out) tensor does this, because PyTorch stores a layer's weight as (out, in))":
                math.sqrt(2 / n_out),
            "variance 1/n_in: Xavier's scale, without ReLU's factor 2": 1 / math.sqrt(n_in),
            "std 2/n_in: the variance 2/n_in was used as the standard deviation": 2 / n_in,
            "variance 2/(n_in + n_out): Glorot's average of fan-in and fan-out":
                math.sqrt(2 / (n_in + n_out)),
            "uniform with limit sqrt(2/n_in): U(-a, a) has std a/sqrt(3)": math.sqrt(2 / (3 * n_in))}


def check_init_zero__values(init_zero):
    test_id = "init_zero__values"
    shapes = [(2048, 2048), (1000, 250), (1, 1), (3, 7), (7, 3)]
    for index, (n_in, n_out) in enumerate(shapes):
        W = draw(test_id, init_zero, n_in, n_out, 31 + index)
        nonzero = W.count_nonzero().item()
        if nonzero:
            fail(test_id, f"shape ({n_in}, {n_out})", f"expected every entry exactly 0, got "
                 f"{nonzero} nonzero entries (largest |w| {W.abs().max().item():.3g})",
                 "zero init must be exact: torch.empty leaves whatever was in memory, and a tiny "
                 "random scale is still random")
    passed(test_id, len(shapes))


def check_init_small__distribution(init_small):
    test_id = "init_small__distribution"
    n = check_statistics(test_id, init_small, SHAPES, lambda i, o: [0.01], small_mistakes,
                         "multiply standard normal draws by 0.01", seed=41)
    n += check_shapes_only(test_id, init_small, ODD_SHAPES)
    passed(test_id, n + check_generator(test_id, init_small, GENERATOR_SHAPES, seed=51))


def check_init_large__distribution(init_large):
    test_id = "init_large__distribution"
    n = check_statistics(test_id, init_large, SHAPES, lambda i, o: [0.05], large_mistakes,
                         "multiply standard normal draws by 0.05", seed=61)
    n += check_shapes_only(test_id, init_large, ODD_SHAPES)
    passed(test_id, n + check_generator(test_id, init_large, GENERATOR_SHAPES, seed=71))


def check_init_xavier__distribution(init_xavier):
    test_id = "init_xavier__distribution"
    n = check_statistics(test_id, init_xavier, SHAPES, xavier_stds, xavier_mistakes,
                         "each weight has variance 1/n_in, so standard deviation 1/sqrt(n_in)", seed=81)
    passed(test_id, n + check_shapes_only(test_id, init_xavier, ODD_SHAPES))


def check_init_xavier__generator(init_xavier):
    test_id = "init_xavier__generator"
    passed(test_id, check_generator(test_id, init_xavier, GENERATOR_SHAPES, seed=91))


def check_init_he__distribution(init_he):
    test_id = "init_he__distribution"
    n = check_statistics(test_id, init_he, SHAPES, lambda i, o: [math.sqrt(2 / i)], he_mistakes,
                         "each weight has variance 2/n_in, n_in being the layer's inputs (rows of W)",
                         seed=101)
    passed(test_id, n + check_shapes_only(test_id, init_he, ODD_SHAPES))


def check_init_he__generator(init_he):
    test_id = "init_he__generator"
    passed(test_id, check_generator(test_id, init_he, GENERATOR_SHAPES, seed=111))


# 4.6 and 4.8: wrappers that re-initialize every nn.Linear weight -------------------------

class Residual(nn.Sequential):
    """f(x) + x, like the students' ResidualSequence (defined here: this package trusts no
    name from the notebook)."""

    def forward(self, x):
        return super().forward(x) + x


class TwoBranches(nn.Module):
    """Linear layers held as attributes and in a ModuleList, not in a Sequential."""

    def __init__(self, width):
        super().__init__()
        self.left = nn.Linear(width, width)
        self.right = nn.ModuleList([nn.Linear(width, width)])

    def forward(self, x):
        return self.left(x) + self.right[0](x)


def flat_net(seed, dtype=torch.float32):
    """Non-square layers, so fan-in and fan-out differ."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(600, 300), nn.ReLU(), nn.Linear(300, 800), nn.ReLU(),
                             nn.Linear(800, 120), nn.ReLU(), nn.Linear(120, 1), nn.Sigmoid()).to(dtype)


def nested_net(seed):
    """Linear layers at the top level, in nested Sequentials, in residual blocks and in a
    custom module; BatchNorm parameters that must stay untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Linear(36, 64),
            Residual(nn.BatchNorm1d(64), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64)),
            nn.Sequential(nn.ReLU(), nn.Sequential(nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 64))),
            TwoBranches(64),
            nn.BatchNorm1d(64), nn.Linear(64, 1), nn.Sigmoid())


def linear_layers(net):
    return [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Linear)]


def wrap(test_id, cls, net, criterion=None, seed=0):
    """``cls(criterion, net)`` under a fixed seed (the notebook's random state is kept) and a
    copy of every parameter from before."""
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(nn.BCELoss() if criterion is None else criterion, net)
    if not isinstance(getattr(model, "net", None), nn.Module):
        fail(test_id, "structure", "the wrapper keeps no network in .net",
             "call super().__init__(criterion, net) first: Supervise keeps the network as self.net")
    return model, before


def check_reinit(test_id, cls, net, stds, mistakes, hint, seed=0) -> int:
    """Wrap ``net``: every nn.Linear weight redrawn with mean 0 and a std in ``stds(layer)``;
    biases unchanged or zero; parameters of other layers unchanged."""
    model, before = wrap(test_id, cls, net, seed=seed)
    layers = linear_layers(model.net)
    kept = [name for name, layer in layers
            if f"{name}.weight" in before and torch.equal(layer.weight.detach(), before[f"{name}.weight"])]
    if kept:
        top = {name for name, _ in layers if "." not in name}
        nested_only = set(kept).isdisjoint(top) and len(kept) < len(layers)
        fail(test_id, f"{len(layers)} Linear layers", f"{len(kept)} of them kept their weights: "
             f"{', '.join('net.' + k for k in kept)}",
             "your results match a known mistake: only the top-level layers were re-initialized "
             "(net.children() or looping over net stops at the first level; net.modules() "
             "visits the whole tree)" if nested_only else
             "re-initialize, in __init__ and in place, every nn.Linear in self.net.modules()")
    for name, layer in layers:
        W = layer.weight.detach().double().cpu()
        n, accepted = W.numel(), stds(layer)
        case = f"Linear net.{name} ({layer.in_features} -> {layer.out_features}, {layer.weight.dtype})"
        mean, std = W.mean().item(), W.std().item()
        if not any(abs(std - s) <= tolerances(s, n)[1] for s in accepted):
            known = [k for k, s in mistakes(layer).items() if abs(std - s) <= tolerances(s, n)[1]]
            fail(test_id, case, f"expected weight std {accepted[0]:.4g}, got {std:.4g}; tolerance "
                 f"{tolerances(accepted[0], n)[1]:.2g} ({Z:g} standard errors for {n} weights)",
                 f"your weights match a known mistake: {known[0]}" if known else hint)
        mean_tol = tolerances(max(accepted), n)[0]
        if not abs(mean) <= mean_tol:
            fail(test_id, case, f"expected weight mean 0, got {mean:.4g}; tolerance {mean_tol:.2g} "
                 f"({Z:g} standard errors for {n} weights)", hint)
        if layer.bias is not None:
            bias, old = layer.bias.detach(), before.get(f"{name}.bias")
            unchanged = old is not None and torch.equal(bias, old)
            if not unchanged and bias.count_nonzero().item():
                fail(test_id, case, "the bias was changed to something other than zeros",
                     "leave biases as they are or set them to zero: the task is about weights")
    linear_params = {f"{name}.{kind}" for name, _ in layers for kind in ("weight", "bias")}
    for name, p in model.net.named_parameters():
        if name not in linear_params and name in before and not torch.equal(p.detach(), before[name]):
            fail(test_id, f"parameter net.{name}", "a parameter of a layer that is not nn.Linear changed",
                 "re-initialize only nn.Linear weights (isinstance(module, nn.Linear))")
    return len(layers)


def check_wrapper(test_id, cls):
    """Supervise's contract: keeps the given network and loss, registers the network's
    parameters, forward = criterion(net(x).squeeze(-1), y), forward changes no weight; on
    every available device."""
    hint = ("subclass Supervise and call super().__init__(criterion, net) first, then "
            "re-initialize that same network's weights in place")
    n = 0
    for device in devices():
        for criterion in (nn.BCELoss(), nn.MSELoss()):
            case = f"{type(criterion).__name__}, {device}"
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(n)
                net = nn.Sequential(nn.Linear(9, 7), nn.ReLU(), nn.Sequential(nn.Linear(7, 1)),
                                    nn.Sigmoid())
                x, y = torch.rand(6, 9), (torch.rand(6) > 0.5).float()
            model, _ = wrap(test_id, cls, net, criterion, seed=n)
            if model.net is not net:
                fail(test_id, case, "model.net is not the network that was passed in", hint)
            if getattr(model, "criterion", None) is not criterion:
                fail(test_id, case, "model.criterion is not the loss that was passed in", hint)
            if not {id(p) for p in net.parameters()} <= {id(p) for p in model.parameters()}:
                fail(test_id, case, "the network's parameters are not among model.parameters(), "
                     "so an optimizer would not train them", hint)
            model.to(device)
            x, y = x.to(device), y.to(device)
            state = {k: v.clone() for k, v in net.state_dict().items()}
            got = model(x, y)
            expected = criterion(net(x).squeeze(-1), y)
            expect_close(test_id, f"{case}: model(x, y) on a batch of 6", expected.detach().cpu(),
                         got.detach().cpu() if isinstance(got, torch.Tensor) else got, 1e-6,
                         "forward(x, y) returns criterion(self.net(x).squeeze(-1), y), as Supervise's does")
            if any(not torch.equal(v, net.state_dict()[k]) for k, v in state.items()):
                fail(test_id, case, "calling the model changed the network's weights",
                     "re-initialize once, in __init__, not in forward")
            n += 1
    passed(test_id, n)


def random_mistakes(layer):
    return {"std 1: nn.init.normal_ without std=0.01 draws from N(0, 1)": 1.0,
            "std 0.0001: 0.01² is the variance; the standard deviation is 0.01": 1e-4,
            "std 0.1 = sqrt(0.01): N(0, 0.01²) has standard deviation 0.01": 0.1,
            "uniform on [-0.01, 0.01] (std 0.0058)": 0.01 / math.sqrt(3)}


def kaiming_stds(layer):
    return [math.sqrt(2 / layer.in_features)]


def kaiming_mistakes(layer):
    n_in, n_out = layer.in_features, layer.out_features
    return {"mode='fan_out': the std uses the layer's outputs; use mode='fan_in' (the default), "
            "which keeps the forward activations' scale": math.sqrt(2 / n_out),
            "gain 1 (nonlinearity='linear' or 'sigmoid'): ReLU needs gain sqrt(2), "
            "nonlinearity='relu'": 1 / math.sqrt(n_in),
            "xavier_normal_: Glorot's std sqrt(2/(fan_in + fan_out))": math.sqrt(2 / (n_in + n_out)),
            "gain 5/3 (nonlinearity='tanh')": 5 / 3 / math.sqrt(n_in)}


RANDOM_HINT = "draw every nn.Linear weight from N(0, 0.01²): mean 0, standard deviation 0.01"
KAIMING_HINT = ("nn.init.kaiming_normal_(layer.weight, mode='fan_in', nonlinearity='relu') gives "
                "std sqrt(2 / in_features)")


def _statistics(test_id, cls, stds, mistakes, hint):
    n = check_reinit(test_id, cls, flat_net(5), stds, mistakes, hint, seed=5)
    n += check_reinit(test_id, cls, flat_net(6, torch.float64), stds, mistakes, hint, seed=6)
    passed(test_id, n)


def _whole_tree(test_id, cls, stds, mistakes, hint):
    n = check_reinit(test_id, cls, nested_net(7), stds, mistakes, hint, seed=7)
    passed(test_id, n)


def check_supervise_random__statistics(Supervise_random_weights):
    _statistics("supervise_random__statistics", Supervise_random_weights, lambda layer: [0.01],
                random_mistakes, RANDOM_HINT)


def check_supervise_random__whole_tree(Supervise_random_weights):
    _whole_tree("supervise_random__whole_tree", Supervise_random_weights, lambda layer: [0.01],
                random_mistakes, RANDOM_HINT)


def check_supervise_random__wrapper(Supervise_random_weights):
    check_wrapper("supervise_random__wrapper", Supervise_random_weights)


def check_supervise_kaiming__statistics(Supervise_Kaiming_weights):
    _statistics("supervise_kaiming__statistics", Supervise_Kaiming_weights, kaiming_stds,
                kaiming_mistakes, KAIMING_HINT)


def check_supervise_kaiming__whole_tree(Supervise_Kaiming_weights):
    _whole_tree("supervise_kaiming__whole_tree", Supervise_Kaiming_weights, kaiming_stds,
                kaiming_mistakes, KAIMING_HINT)


def check_supervise_kaiming__wrapper(Supervise_Kaiming_weights):
    check_wrapper("supervise_kaiming__wrapper", Supervise_Kaiming_weights)


# 4.7 and 4.9: 3.12's network inside the wrappers ----------------------------------------

def check_wrapped(test_id, model, net, class_name):
    """``model`` is an instance of the notebook's ``class_name`` holding ``net`` and a BCE loss.
    Only the type is checked, not the initialization (that is 4.6's and 4.8's to grade)."""
    hint = f"wrap the network you built: {class_name}(nn.BCELoss(), <network>)"
    if not any(c.__name__ == class_name for c in type(model).__mro__):
        fail(test_id, "type", f"expected a {class_name}, got {type(model).__name__}", hint)
    if not isinstance(model, nn.Module):
        fail(test_id, "type", f"{class_name} is not an nn.Module", "subclass Supervise")
    if getattr(model, "net", None) is not net:
        fail(test_id, "model.net", "the wrapper does not hold the network bound to the task's name", hint)
    if not isinstance(getattr(model, "criterion", None), nn.BCELoss):
        fail(test_id, "model.criterion",
             f"expected nn.BCELoss, got {type(getattr(model, 'criterion', None)).__name__}", hint)
    passed(test_id, 3)


def check_architecture(task, net):
    """3.12's layers, through Part 3's check; building the reference draws random numbers, so
    the notebook's random state is set aside meanwhile."""
    with torch.random.fork_rng(devices=[]):
        part3.check_architecture(task, net)


def check_net_4_7__architecture(net_4_7):
    check_architecture("4.7", net_4_7)


def check_net_4_7__wrapper(model_4_7, net_4_7):
    check_wrapped("net_4_7__wrapper", model_4_7, net_4_7, "Supervise_random_weights")


def check_net_4_9__architecture(net_4_9):
    check_architecture("4.9", net_4_9)


def check_net_4_9__wrapper(model_4_9, net_4_9):
    check_wrapped("net_4_9__wrapper", model_4_9, net_4_9, "Supervise_Kaiming_weights")
