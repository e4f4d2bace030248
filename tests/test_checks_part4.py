"""Part 4 and extra-credit checks, visible (hw2utils) and hidden (autograder.checks): every
check passes on correct answers, including equivalent-but-different ones, and fails on each
listed misconception with a message that names it."""
import math
import re
import shutil

import numpy as np
import pytest
import torch
from torch import nn

import hw2utils
from autograder.checks import extra_credit as hidden_ec
from autograder.checks import part4 as hidden
from autograder.rules import rule as true_rule
from ec_networks import rule_network

BOTH = [pytest.param(hw2utils, id="visible"), pytest.param(hidden, id="hidden")]
BOTH_EC = [pytest.param(hw2utils, id="visible"), pytest.param(hidden_ec, id="hidden")]


def fails(check, *args, match):
    with pytest.raises(AssertionError, match=match) as info:
        check(*args)
    return str(info.value)


# 4.1-4.5: initializers -------------------------------------------------------------------

def normal(std_of):
    return lambda n_in, n_out, g: torch.randn(n_in, n_out, generator=g) * std_of(n_in, n_out)


def init_zero(n_in, n_out, g):
    return torch.zeros(n_in, n_out)


init_small = normal(lambda i, o: 0.01)
init_large = normal(lambda i, o: 0.05)
init_xavier = normal(lambda i, o: 1 / math.sqrt(i))
init_he = normal(lambda i, o: math.sqrt(2 / i))


def glorot_uniform(n_in, n_out, g):
    # PyTorch's (out, in) layout, transposed: xavier_uniform_ is symmetric in the fans anyway
    return nn.init.xavier_uniform_(torch.empty(n_out, n_in), generator=g).T


def he_through_torch(n_in, n_out, g):
    return nn.init.kaiming_normal_(torch.empty(n_out, n_in), nonlinearity="relu", generator=g).T


def he_float64_uniform(n_in, n_out, g):
    limit = math.sqrt(6 / n_in)  # U(-a, a) with std sqrt(2/n_in)
    return (torch.rand(n_in, n_out, generator=g, dtype=torch.float64) * 2 - 1) * limit


@pytest.mark.parametrize("checks", BOTH)
def test_correct_initializers_pass(checks):
    checks.check_init_zero__values(init_zero)
    checks.check_init_small__distribution(init_small)
    checks.check_init_large__distribution(init_large)
    for xavier in (init_xavier, glorot_uniform,
                   lambda i, o, g: nn.init.xavier_normal_(torch.empty(i, o), generator=g)):
        checks.check_init_xavier__distribution(xavier)
        checks.check_init_xavier__generator(xavier)
    for he in (init_he, he_through_torch, he_float64_uniform):
        checks.check_init_he__distribution(he)
        checks.check_init_he__generator(he)


@pytest.mark.parametrize("checks", BOTH)
def test_zero_init_must_be_exact_float_zeros(checks):
    fails(checks.check_init_zero__values, lambda i, o, g: torch.full((i, o), 1e-8),
          match="exactly 0.*\n.*small is not zero|exactly 0.*\n.*must be exact")
    fails(checks.check_init_zero__values, lambda i, o, g: torch.zeros(i, o, dtype=torch.long),
          match="floating-point")
    fails(checks.check_init_zero__values, lambda i, o, g: np.zeros((i, o)), match="torch.Tensor")


@pytest.mark.parametrize("checks", BOTH)
def test_small_and_large_scale_mistakes_are_named(checks):
    fails(checks.check_init_small__distribution, normal(lambda i, o: 1.0),
          match="expected standard deviation 0.01.*\n.*std 1: the factor 0.01 is missing")
    fails(checks.check_init_small__distribution, normal(lambda i, o: 1e-4), match="applied twice")
    fails(checks.check_init_large__distribution, normal(lambda i, o: 5.0),
          match="expected standard deviation 0.05.*\n.*std 5 instead of 0.05")
    fails(checks.check_init_large__distribution, normal(lambda i, o: 0.01),
          match="small scale of Task 4.2")
    fails(checks.check_init_large__distribution, lambda i, o, g: torch.randn(i, o, generator=g) * 0.05 + 0.01,
          match="expected mean 0")


@pytest.mark.parametrize("checks", BOTH)
def test_initializers_must_draw_from_the_generator(checks):
    def global_rng(n_in, n_out, g):
        return torch.randn(n_in, n_out) * 0.01
    message = fails(checks.check_init_small__distribution, global_rng, match="same seed|seeded alike")
    assert "generator=generator" in message
    fails(checks.check_init_xavier__generator, lambda i, o, g: torch.randn(i, o) / math.sqrt(i),
          match="global random state")

    def ignores_seed(n_in, n_out, g):
        return torch.randn(n_in, n_out, generator=torch.Generator().manual_seed(0)) / math.sqrt(n_in)
    fails(checks.check_init_he__generator, ignores_seed, match="different seeds|seeded differently")


def test_generator_check_leaves_the_global_random_state_alone():
    state = torch.get_rng_state()
    hidden.check_init_small__distribution(init_small)
    hw2utils.check_init_he__generator(init_he)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("checks", BOTH)
def test_xavier_uniform_with_the_wrong_limit_is_named(checks):
    def wrong_limit(n_in, n_out, g):  # std 1/sqrt(3 n_in): 0.0128 instead of 0.0221 at 2048
        return (torch.rand(n_in, n_out, generator=g) * 2 - 1) / math.sqrt(n_in)
    fails(checks.check_init_xavier__distribution, wrong_limit, match=r"limit 1/sqrt\(n_in\)")
    fails(checks.check_init_xavier__distribution, normal(lambda i, o: 1 / i),
          match="variance 1/n_in was used as the standard deviation")
    fails(checks.check_init_xavier__distribution, init_he, match="He's scale")


def test_xavier_wrong_limit_has_the_std_the_issue_reports():
    g = torch.Generator().manual_seed(0)
    W = (torch.rand(2048, 2048, generator=g) * 2 - 1) / math.sqrt(2048)
    assert W.std().item() == pytest.approx(0.0128, abs=1e-4)
    assert init_xavier(2048, 2048, g).std().item() == pytest.approx(0.0221, abs=1e-4)


@pytest.mark.parametrize("checks", BOTH)
def test_he_with_fan_out_fails_on_non_square_shapes_only(checks):
    fan_out = normal(lambda i, o: math.sqrt(2 / o))
    fails(checks.check_init_he__distribution, fan_out, match="shape \\((800, 200|1000, 250)\\).*\n.*fan-out")
    torch_on_wrong_layout = lambda i, o, g: nn.init.kaiming_normal_(torch.empty(i, o), nonlinearity="relu",
                                                                   generator=g)
    message = fails(checks.check_init_he__distribution, torch_on_wrong_layout, match="fan-out")
    assert "(out, in)" in message
    fails(checks.check_init_he__distribution, init_xavier, match="Xavier's scale")
    # on a square matrix fan-in and fan-out agree: the generator check cannot tell them apart
    checks.check_init_he__generator(fan_out)


@pytest.mark.parametrize("checks", BOTH)
def test_transposed_or_wrong_shapes_are_reported(checks):
    transposed = lambda i, o, g: torch.randn(o, i, generator=g) * math.sqrt(2 / i)
    fails(checks.check_init_he__distribution, transposed, match="expected shape.*\n.*(transposed|rows index)")
    fails(checks.check_init_small__distribution, lambda i, o, g: torch.randn(i, generator=g) * 0.01,
          match="expected shape")


# 4.6 and 4.8: the wrappers ----------------------------------------------------------------

def reinit_class(name, init, walk="modules", base=hw2utils.Supervise, zero_bias=False):
    def __init__(self, criterion, net):
        base.__init__(self, criterion, net)
        modules = self.net.modules() if walk == "modules" else self.net.children()
        for module in modules:
            if isinstance(module, nn.Linear):
                init(module.weight)
                if zero_bias:
                    nn.init.zeros_(module.bias)
    return type(name, (base,), {"__init__": __init__})


random_init = lambda w: nn.init.normal_(w, mean=0.0, std=0.01)
kaiming_init = lambda w: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")
Random = reinit_class("Supervise_random_weights", random_init)
Kaiming = reinit_class("Supervise_Kaiming_weights", kaiming_init)


class PlainRandom(nn.Module):
    """Equivalent without subclassing Supervise: its own attributes and forward, .data writes,
    zeroed biases."""

    def __init__(self, criterion, net):
        super().__init__()
        self.net, self.criterion = net, criterion
        for module in net.modules():
            if isinstance(module, nn.Linear):
                module.weight.data.normal_(0, 0.01)
                module.bias.data.zero_()

    def forward(self, x, y):
        return self.criterion(self.net(x).squeeze(-1), y)


PlainRandom.__name__ = "Supervise_random_weights"


@pytest.mark.parametrize("checks", BOTH)
def test_correct_wrappers_pass(checks):
    for cls in (Random, PlainRandom, reinit_class("R", random_init, zero_bias=True)):
        checks.check_supervise_random__statistics(cls)
        checks.check_supervise_random__whole_tree(cls)
        checks.check_supervise_random__wrapper(cls)
    kaiming_uniform = reinit_class("K", lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"))
    for cls in (Kaiming, kaiming_uniform):
        checks.check_supervise_kaiming__statistics(cls)
        checks.check_supervise_kaiming__whole_tree(cls)
        checks.check_supervise_kaiming__wrapper(cls)


@pytest.mark.parametrize("checks", BOTH)
def test_random_wrapper_mistakes_are_named(checks):
    std_one = reinit_class("S", lambda w: nn.init.normal_(w))
    fails(checks.check_supervise_random__statistics, std_one, match="expected weight std 0.01.*\n.*std 1")
    variance = reinit_class("S", lambda w: nn.init.normal_(w, std=1e-4))
    fails(checks.check_supervise_random__statistics, variance, match="0.01² is the variance")
    top_level = reinit_class("S", random_init, walk="children")
    checks.check_supervise_random__statistics(top_level)  # a flat network hides the mistake
    fails(checks.check_supervise_random__whole_tree, top_level, match="only the top-level layers")


@pytest.mark.parametrize("checks", BOTH)
def test_kaiming_wrapper_mistakes_are_named(checks):
    fan_out = reinit_class("K", lambda w: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"))
    fails(checks.check_supervise_kaiming__statistics, fan_out, match="mode='fan_out'")
    xavier = reinit_class("K", nn.init.xavier_normal_)
    fails(checks.check_supervise_kaiming__statistics, xavier, match="xavier_normal_")
    linear_gain = reinit_class("K", lambda w: nn.init.kaiming_normal_(w, nonlinearity="linear"))
    fails(checks.check_supervise_kaiming__statistics, linear_gain, match="gain 1")
    top_level = reinit_class("K", kaiming_init, walk="children")
    fails(checks.check_supervise_kaiming__whole_tree, top_level, match="only the top-level layers")


@pytest.mark.parametrize("checks", BOTH)
def test_wrappers_must_touch_only_linear_weights(checks):
    class AllWeights(hw2utils.Supervise):
        def __init__(self, criterion, net):
            super().__init__(criterion, net)
            for module in self.net.modules():
                if isinstance(getattr(module, "weight", None), torch.Tensor):
                    nn.init.normal_(module.weight, 0, 0.01)
    fails(checks.check_supervise_random__whole_tree, AllWeights, match="not nn.Linear changed")

    class RandomBiases(hw2utils.Supervise):
        def __init__(self, criterion, net):
            super().__init__(criterion, net)
            for module in self.net.modules():
                if isinstance(module, nn.Linear):
                    for p in module.parameters():
                        nn.init.normal_(p, 0, 0.01)
    fails(checks.check_supervise_random__statistics, RandomBiases, match="bias")

    class NothingDone(hw2utils.Supervise):
        pass
    fails(checks.check_supervise_random__statistics, NothingDone, match="kept their weights|not re-initialized")


@pytest.mark.parametrize("checks", BOTH)
def test_wrapper_contract(checks):
    import copy

    class Copies(hw2utils.Supervise):
        def __init__(self, criterion, net):
            super().__init__(criterion, copy.deepcopy(net))
            for module in self.net.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0, 0.01)
    fails(checks.check_supervise_random__wrapper, Copies, match="not the network that was passed in")

    class InForward(Random):
        def forward(self, x, y):
            for module in self.net.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0, 0.01)
            return super().forward(x, y)
    fails(checks.check_supervise_random__wrapper, InForward, match="changed the .*weights")

    class AlwaysBCE(Random):
        def forward(self, x, y):
            return nn.functional.binary_cross_entropy(self.net(x).squeeze(-1), y)
    fails(checks.check_supervise_random__wrapper, AlwaysBCE, match="MSELoss")

    class Unregistered(nn.Module):
        def __init__(self, criterion, net):
            super().__init__()
            self.__dict__["net"] = net  # hidden from nn.Module's registry
            self.criterion = criterion

        def forward(self, x, y):
            return self.criterion(self.net(x).squeeze(-1), y)
    fails(checks.check_supervise_random__wrapper, Unregistered, match="parameters")


def test_wrapper_checks_leave_the_global_random_state_alone():
    state = torch.get_rng_state()
    hidden.check_supervise_random__statistics(Random)
    hw2utils.check_supervise_kaiming__whole_tree(Kaiming)
    hidden.check_supervise_kaiming__wrapper(Kaiming)
    assert torch.equal(state, torch.get_rng_state())


# 4.7 and 4.9: the networks ---------------------------------------------------------------

def deep_narrow():
    return nn.Sequential(nn.Linear(36, 32), nn.ReLU(),
                         *[m for _ in range(4) for m in (nn.Linear(32, 32), nn.ReLU())],
                         nn.Linear(32, 1), nn.Sigmoid())


@pytest.mark.parametrize("checks", BOTH)
def test_deep_networks_and_their_wrappers(checks):
    net = deep_narrow()
    checks.check_net_4_7__architecture(net)
    checks.check_net_4_7__wrapper(Random(nn.BCELoss(), net), net)
    checks.check_net_4_9__architecture(net)
    checks.check_net_4_9__wrapper(Kaiming(nn.BCELoss(), net), net)
    nested = nn.Sequential(nn.Sequential(nn.Linear(36, 32), nn.ReLU()), *list(deep_narrow())[2:])
    checks.check_net_4_9__architecture(nested)

    short = nn.Sequential(*list(deep_narrow())[2:4], nn.Linear(32, 1), nn.Sigmoid())
    fails(checks.check_net_4_7__architecture, short, match="net_4_7__architecture")
    fails(checks.check_net_4_9__architecture, nn.Sequential(*list(deep_narrow())[:-1]),
          match="net_4_9__architecture")
    fails(checks.check_net_4_7__wrapper, hw2utils.Supervise(nn.BCELoss(), net), net,
          match="expected a Supervise_random_weights")
    fails(checks.check_net_4_9__wrapper, Random(nn.BCELoss(), net), net,
          match="expected a Supervise_Kaiming_weights")
    fails(checks.check_net_4_7__wrapper, Random(nn.BCELoss(), deep_narrow()), net, match="model.net")
    fails(checks.check_net_4_9__wrapper, Kaiming(nn.MSELoss(), net), net, match="BCELoss")


# EC1: the saved network --------------------------------------------------------------------

class ResidualSequence(nn.Sequential):
    def forward(self, x):
        return super().forward(x) + x


class ForgetsTheSkip(nn.Sequential):
    def forward(self, x):
        return super().forward(x)


ForgetsTheSkip.__name__ = "ResidualSequence"


def test_the_rule_network_computes_the_hard_rule():
    x = torch.randint(0, 2, (3000, 36), generator=torch.Generator().manual_seed(0))
    truth = torch.as_tensor(true_rule(x.numpy(), kind="hard"))
    with torch.no_grad():
        assert torch.equal(rule_network()(x.float()).squeeze(-1) > 0.5, truth)
        flipped = rule_network(flip=True)(x.float()).squeeze(-1) > 0.5
    assert torch.equal(flipped != truth, x[:, :3].sum(-1) == 3)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ec_models")
    constant = nn.Sequential(nn.Linear(36, 1), nn.Sigmoid())
    with torch.no_grad():
        constant[0].weight.zero_()
        constant[0].bias.fill_(-1.0)
    models = {"perfect": rule_network(), "flipped": rule_network(flip=True),
              "logits": rule_network(sigmoid=False), "constant": constant}
    for name, net in models.items():
        hw2utils._write_ec_model(net, folder / f"{name}.pt", saved_by="save_ec_model")
    hw2utils._write_ec_model(models["perfect"], folder / "reference.pt", saved_by="reference")
    (folder / "garbage.pt").write_bytes(b"not a model")
    torch.save(models["perfect"].state_dict(), folder / "state_dict.pt")
    torch.save(models["perfect"], folder / "pickled_module.pt")
    return folder


@pytest.fixture
def submit(saved_models, tmp_path, monkeypatch):
    """Put one of the saved models next to the 'notebook' (the current directory)."""
    monkeypatch.chdir(tmp_path)

    def put(name):
        shutil.copyfile(saved_models / f"{name}.pt", tmp_path / hw2utils.EC_MODEL_FILE)
    return put


def test_the_grader_and_the_helpers_agree_on_file_format_and_tiers():
    assert hidden_ec.MODEL_FILE == hw2utils.EC_MODEL_FILE
    assert hidden_ec.FORMAT == hw2utils._EC_FORMAT
    assert hidden_ec.ELEMENTWISE == hw2utils.EC_ELEMENTWISE
    assert hidden_ec.TRANSFER_TIERS == hw2utils.EC_TRANSFER_TIERS
    assert hidden_ec.RULE_TIERS == hw2utils.EC_RULE_TIERS


@pytest.mark.parametrize("checks", BOTH_EC)
def test_a_good_saved_model_passes_every_tier(checks, submit):
    submit("perfect")
    checks.check_ec_transfer__saved_model()
    checks.check_ec_transfer__accuracy_75()
    checks.check_ec_transfer__accuracy_95()


@pytest.mark.parametrize("checks", BOTH_EC)
def test_tiers_give_partial_credit(checks, submit):
    submit("flipped")
    checks.check_ec_transfer__saved_model()
    checks.check_ec_transfer__accuracy_75()
    fails(checks.check_ec_transfer__accuracy_95, match=r"accuracy 0\.8\d+ is below 0.95")
    submit("constant")
    checks.check_ec_transfer__saved_model()
    message = fails(checks.check_ec_transfer__accuracy_75, match=r"accuracy 0\.5\d* is below 0.75")
    if checks is hidden_ec:
        assert "memorizes" in message


@pytest.mark.parametrize("checks", BOTH_EC)
def test_missing_unreadable_or_non_probability_models_fail_clearly(checks, submit):
    for check in (checks.check_ec_transfer__saved_model, checks.check_ec_transfer__accuracy_75,
                  checks.check_ec_transfer__accuracy_95):
        message = fails(check, match="model file")
        assert "save_ec_model" in message and "submit" in message.lower()
    for name in ("garbage", "state_dict", "pickled_module"):
        submit(name)
        fails(checks.check_ec_transfer__saved_model, match="cannot be loaded")
    submit("logits")
    fails(checks.check_ec_transfer__saved_model, match="not probabilities.*\n.*Sigmoid")


def test_the_reference_model_is_refused_only_while_autograding(submit, monkeypatch):
    submit("reference")
    hidden_ec.check_ec_transfer__accuracy_95()
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    hidden_ec.check_ec_transfer__accuracy_95()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    fails(hidden_ec.check_ec_transfer__accuracy_95, match="instructor's reference model")
    submit("perfect")
    hidden_ec.check_ec_transfer__accuracy_95()


def test_the_grader_refuses_absurdly_large_networks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"format": hidden_ec.FORMAT, "saved_by": "save_ec_model", "state_dict": {},
                "layers": {"type": "Linear", "in_features": 10**6, "out_features": 10**6, "bias": True}},
               tmp_path / hidden_ec.MODEL_FILE)
    fails(hidden_ec.check_ec_transfer__saved_model, match="more than 5000000 parameters")


def test_save_ec_model_writes_a_self_contained_file_outside_grading_mode(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(36, 8),
                        ResidualSequence(nn.BatchNorm1d(8), nn.Linear(8, 8), nn.LeakyReLU(0.2)),
                        nn.Sequential(nn.Dropout(0.1), nn.Tanh()), nn.Linear(8, 1), nn.Sigmoid())
    net(torch.rand(32, 36))  # training mode: BatchNorm's running statistics move
    with pytest.raises(TypeError, match="not its Supervise wrapper"):
        hw2utils.save_ec_model(hw2utils.Supervise(nn.BCELoss(), net))
    path = hw2utils.save_ec_model(net)
    assert path.name == hw2utils.EC_MODEL_FILE and path.is_file()
    out = capsys.readouterr()
    assert "held-out (hard val) accuracy" in out.out and out.err == ""
    assert net.training  # the caller's network is left as it was
    net.eval()
    for loaded in (hw2utils.load_ec_model(), hidden_ec.load_model("test")):
        for batch in (1, 1000):
            x = torch.randint(0, 2, (batch, 36)).float()
            with torch.no_grad():
                assert torch.allclose(loaded(x), net(x), atol=1e-6)


def test_save_ec_model_refuses_what_it_cannot_rebuild(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    class Custom(nn.Module):
        def forward(self, x):
            return x
    with pytest.raises(TypeError, match="cannot save a Custom"):
        hw2utils.save_ec_model(nn.Sequential(nn.Linear(36, 1), Custom(), nn.Sigmoid()))
    broken = nn.Sequential(nn.Linear(36, 4), ForgetsTheSkip(nn.Linear(4, 4)), nn.Linear(4, 1), nn.Sigmoid())
    with pytest.raises(ValueError, match=r"computes something else.*f\(x\) \+ x"):
        hw2utils.save_ec_model(broken)
    assert not (tmp_path / hw2utils.EC_MODEL_FILE).exists()


def test_save_ec_model_never_writes_in_grading_mode(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    net = nn.Sequential(nn.Linear(36, 1), nn.Sigmoid())
    assert hw2utils.save_ec_model(net) is None
    assert not (tmp_path / hw2utils.EC_MODEL_FILE).exists()
    assert "no such file was submitted" in capsys.readouterr().out
    (tmp_path / hw2utils.EC_MODEL_FILE).write_bytes(b"the student's file")
    hw2utils.save_ec_model(net)
    assert (tmp_path / hw2utils.EC_MODEL_FILE).read_bytes() == b"the student's file"
    assert "keeping the file you submitted" in capsys.readouterr().out


# EC2: the rule ---------------------------------------------------------------------------

def correct_rule(grid):
    return true_rule(grid.numpy().astype(int))


def almost_rule(grid):
    """Right except on grids whose first four cells are set (about 1 in 16)."""
    answer = correct_rule(grid)
    return (not answer) if bool(grid[0, :4].all()) else answer


@pytest.mark.parametrize("checks", BOTH_EC)
def test_a_correct_rule_passes_in_any_return_format(checks):
    for rule in (correct_rule, lambda grid: torch.tensor(correct_rule(grid)),
                 lambda grid: int(correct_rule(grid)), lambda grid: np.bool_(correct_rule(grid))):
        checks.check_ec_rule__agreement_90(rule)
        checks.check_ec_rule__agreement_99(rule)


@pytest.mark.parametrize("checks", BOTH_EC)
def test_rule_tiers(checks):
    checks.check_ec_rule__agreement_90(almost_rule)
    fails(checks.check_ec_rule__agreement_99, almost_rule, match=r"agrees with 0\.9\d+ .*below 0.99")
    fails(checks.check_ec_rule__agreement_90, lambda grid: True, match=r"agrees with 0\.5\d* .*below 0.9")


@pytest.mark.parametrize("checks", BOTH_EC)
def test_rule_mistakes_fail_clearly(checks):
    net = nn.Sequential(nn.Flatten(0), nn.Linear(36, 1), nn.Sigmoid())
    fails(checks.check_ec_rule__agreement_90, lambda grid: bool(net(grid) > 0.5), match="calls a network")
    assert nn.Module.__call__ is not None and net(torch.zeros(6, 6)).shape == (1,)  # restored
    fails(checks.check_ec_rule__agreement_90, lambda grid: "yes", match="expected True or False")

    def stub(grid):
        raise NotImplementedError()
    fails(checks.check_ec_rule__agreement_99, stub, match="rule raised NotImplementedError")


def test_the_released_part_4_helpers_do_not_contain_the_rule():
    source = open(hw2utils.__file__).read()
    region = source[source.index("# Part 4 and extra credit --"):source.index("# end of Part 4 checks")]
    assert "def check_ec_rule__agreement_99" in region
    assert not re.search(r"autograder|Variant|permutation|\bplus\b|\bminus\b|contrast", region)
