# %% [markdown]
# # HW2 Part 4 — Initialization (25 points + 10 extra credit)
#
# In this part you see why the scale of a network's initial weights decides whether a deep
# network can learn at all: you write five weight initializers and watch what each does to
# the activations of a deep network, then re-initialize the deep network of Task 3.12 in
# two ways and train it. Two extra-credit tasks close the homework: transfer learning on a
# harder dataset, and reading the rule behind the data.
#
# **How this notebook works.** Write your code where it says `YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and your answers where it says `YOUR ANSWER HERE`.
# Each task is followed by a cell that starts with *"Check that …"*: run it. It tries your
# code on a few fixed cases and prints one line when they pass; the grader runs more cases
# of the same kind. Before you submit, use *Restart kernel and run all cells* and check
# that every cell runs. Do not rename this file (in Colab: do not keep the "Copy of" prefix).
#
# **What is graded.** Your initializers and wrappers are tested on new shapes and networks,
# each network's architecture is checked, and your written answers are graded by hand. The
# accuracy a training run reaches is not graded — except in extra credit 1, where the
# network you save is what is graded.
#
# **Time.** The histogram experiments take a second or two each. Tasks 4.7 and 4.9 train for
# 2000 epochs each: the whole notebook ran in 42 s on an otherwise idle 2-core x86 CPU
# (measured 2026-12-07), each of these two cells in about 15 s; on a busy machine one of
# them took 30–50 s, and a slower or busier computer takes longer. While grading,
# `run_test` trains only a few epochs, so your submission is graded quickly whatever your
# hardware.
#
# **Credit.** If you used help — classmates, web pages, AI tools — say which and for what
# in the last cell.

# %%
# @SETUP@

# %%
import torch
from torch import nn

import hw2checks
import hw2utils
from hw2utils import Supervise, run_test

SEED = 7150  # the training cells start from Part 3's seed, so their results compare
hw2utils.set_seed(0)
print(f"running on {hw2utils.pick_device()}")

# %% [markdown]
# ## How the scale of the weights travels through a network
#
# Take a layer without bias, $z = a\,W$, with $a$ the $n_{in}$ activations coming in and
# $W$ an $n_{in} \times n_{out}$ matrix of independent weights with mean 0 and variance
# $\sigma^2$. Each output $z_j = \sum_i a_i W_{ij}$ adds $n_{in}$ independent terms, so
#
# $$\operatorname{Var}(z_j) = n_{in}\,\sigma^2\,\mathbb{E}[a_i^2].$$
#
# Every layer multiplies the (mean square) signal by $n_{in}\sigma^2$, more or less reshaped
# by the nonlinearity. Over many layers a factor below 1 shrinks the signal towards 0, a
# factor above 1 blows it up — and the gradients, which flow back through the same
# matrices, shrink or blow up with it.
#
# `hw2utils.run_init_experiment(init_fn)` makes this visible. It pushes 16 random inputs
# (each of 2048 standard normal numbers) through 7 layers of width 2048, without biases,
# $a_k = \tanh(a_{k-1} W_k)$, drawing every $W_k$ from `init_fn(2048, 2048, generator)`. It
# draws one histogram per layer of that layer's activations, with the standard normal
# density dashed for scale, and prints each layer's mean and standard deviation.
#
# Each of Tasks 4.1–4.5 asks for such a function `init_fn(n_in, n_out, generator)` returning
# a float tensor of shape `(n_in, n_out)`. Draw every random number from the `generator`
# argument — `torch.randn(n_in, n_out, generator=generator)` — so that the same generator
# seed always gives the same matrix. The checks test shape, mean and standard deviation on
# large matrices (within 6 standard errors: about $6\sigma/\sqrt{n}$ for the mean and
# $6\sigma/\sqrt{2n}$ for the standard deviation of $n$ draws), and the use of the generator.

# %% [markdown]
# ## Task 4.1 — Zero weights (1 point)
#
# `init_zero(n_in, n_out, generator)`: every weight exactly 0 (the generator is not needed).

# %% answer="init_zero"
def init_zero(n_in, n_out, generator):
    """All-zero weights of shape (n_in, n_out)."""
    ### BEGIN SOLUTION
    return torch.zeros(n_in, n_out)
    ### END SOLUTION


# %% test="init_zero__values" points=1
# Check that init_zero returns float matrices of the right shape holding exact zeros.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_init_zero__values(init_zero)
### END HIDDEN TESTS
hw2checks.check_init_zero__values(init_zero)

# %%
hw2utils.run_init_experiment(init_zero)

# %% [markdown]
# **4.A (2 points).** What do the histograms show? Now think of a real network, with biases,
# whose weights all start at 0: what do the units of one layer compute, what gradients do
# they receive, and what does that mean for training?

# %% [markdown] manual="q_zero_init" points=2
# **Model answer.** Every activation is exactly 0 in every layer ($\tanh(0) = 0$): each
# histogram is a single spike at 0, and no information about the input gets through. In a
# network whose weights all start at 0, all units of a layer compute the same value (their
# bias), so they receive the same gradient and get the same update: they stay identical
# forever, and a layer of width $n$ behaves like a single unit. Worse, the gradient that
# reaches a hidden layer is multiplied by the (zero) weights of the layer above, so the
# hidden weights get no gradient at all at first. Random initial weights break this
# symmetry.
#
# **Rubric.** 1 point: activations are all zero / the input does not reach later layers.
# 1 point: symmetry — identical units receive identical gradients and never become
# different (zero gradients for hidden weights also earns the point).

# %% [markdown]
# ## Task 4.2 — Small random weights (1 point)
#
# `init_small(n_in, n_out, generator)`: standard normal draws times 0.01, i.e. weights from
# $\mathcal{N}(0, 0.01^2)$.

# %% answer="init_small"
def init_small(n_in, n_out, generator):
    """Weights from N(0, 0.01²) of shape (n_in, n_out), drawn from `generator`."""
    ### BEGIN SOLUTION
    return torch.randn(n_in, n_out, generator=generator) * 0.01
    ### END SOLUTION


# %% test="init_small__distribution" points=1
# Check that init_small draws from N(0, 0.01²) with the generator it is given.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_init_small__distribution(init_small)
### END HIDDEN TESTS
hw2checks.check_init_small__distribution(init_small)

# %%
hw2utils.run_init_experiment(init_small)

# %% [markdown]
# **4.B (3 points).** The activations shrink towards 0 from layer to layer. Explain why,
# with the formula above. What does this do to the gradients $\partial L/\partial W$ of the
# layers, and is there still a chance for the network to learn?

# %% [markdown] manual="q_small_init" points=3
# **Model answer.** Each layer multiplies the variance of the signal by
# $n_{in}\sigma^2 = 2048 \times 0.01^2 \approx 0.2$ (tanh is almost the identity near 0), so
# the standard deviation shrinks by about $\sqrt{0.2} \approx 0.45$ per layer, to about
# $0.45^7 \approx 0.004$ of the input's after 7 layers. The gradient of a layer's weights is
# $\partial L/\partial W_k = a_{k-1}^\top \delta_k$: it is proportional to the activations
# coming into that layer, which are tiny in the deep layers. And the backward signal
# $\delta_k = (\delta_{k+1} W_{k+1}^\top) \odot \tanh'(z_k)$ is multiplied by the same small
# weights at every layer, so it shrinks on its way back too. The gradients vanish: updates
# are tiny, training is extremely slow or stalls, even though in principle the network
# could still learn.
#
# **Rubric.** 1 point: the per-layer factor $n_{in}\sigma^2 < 1$ (or the same idea in
# words). 1 point: $\partial L/\partial W$ scales with the layer's input activations, so it
# is tiny. 1 point: vanishing gradients ⇒ very slow or no learning (the backward signal
# shrinking as well is a bonus).

# %% [markdown]
# ## Task 4.3 — Larger random weights (1 point)
#
# If small weights make the signal vanish, try larger ones. `init_large(n_in, n_out,
# generator)`: standard normal draws times 0.05, i.e. weights from $\mathcal{N}(0, 0.05^2)$.

# %% answer="init_large"
def init_large(n_in, n_out, generator):
    """Weights from N(0, 0.05²) of shape (n_in, n_out), drawn from `generator`."""
    ### BEGIN SOLUTION
    return torch.randn(n_in, n_out, generator=generator) * 0.05
    ### END SOLUTION


# %% test="init_large__distribution" points=1
# Check that init_large draws from N(0, 0.05²) with the generator it is given.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_init_large__distribution(init_large)
### END HIDDEN TESTS
hw2checks.check_init_large__distribution(init_large)

# %%
hw2utils.run_init_experiment(init_large)

# %% [markdown]
# **4.C (3 points).** Now the activations crowd at −1 and +1: about half of layer 1's
# activations are beyond ±0.9, and about 40 % in each later layer. Why? What does that do to
# the gradients, and to learning?

# %% [markdown] manual="q_large_init" points=3
# **Model answer.** Now $n_{in}\sigma^2 = 2048 \times 0.05^2 \approx 5$: the inputs of each
# tanh have a standard deviation of about 2 (2.3 in layer 1, whose inputs are standard
# normal; about 1.7 later, where the inputs are tanh outputs, smaller than 1 — hence layer
# 1's larger share beyond ±0.9), so many of them land where tanh is flat and the outputs are
# close to ±1 — the units saturate. The derivative $\tanh'(z) = 1 - \tanh^2(z)$
# is then close to 0, and the backward signal $\delta_k = (\delta_{k+1} W_{k+1}^\top) \odot
# \tanh'(z_k)$ is multiplied by it at every layer. The gradients vanish again, for the
# opposite reason: the network learns very slowly or not at all, and its units behave like
# on/off switches. Bigger is not better: the scale has to keep $n_{in}\sigma^2$ near 1.
#
# **Rubric.** 1 point: the pre-activations grow ($n_{in}\sigma^2 > 1$) and tanh saturates at
# ±1. 1 point: $\tanh' \approx 0$ in saturation. 1 point: so the gradients vanish and learning
# stalls.

# %% [markdown]
# ## Task 4.4 — Xavier initialization (2 points)
#
# Glorot and Bengio (2010) choose the scale that keeps the variance steady from layer to
# layer, $n_{in}\sigma^2 = 1$:
#
# $$W_{ij} \sim \mathcal{N}\!\left(0, \frac{1}{n_{in}}\right).$$
#
# `init_xavier(n_in, n_out, generator)` draws from it. (Their paper also proposes the
# compromise variance $2/(n_{in} + n_{out})$ between the forward and the backward pass;
# the checks accept it too — on square matrices the two are the same.)

# %% answer="init_xavier"
def init_xavier(n_in, n_out, generator):
    """Weights from N(0, 1/n_in) of shape (n_in, n_out), drawn from `generator`."""
    ### BEGIN SOLUTION
    return torch.randn(n_in, n_out, generator=generator) / n_in ** 0.5
    ### END SOLUTION


# %% test="init_xavier__distribution" points=1
# Check that init_xavier draws weights with mean 0 and standard deviation 1/sqrt(n_in).
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_init_xavier__distribution(init_xavier)
### END HIDDEN TESTS
hw2checks.check_init_xavier__distribution(init_xavier)

# %% test="init_xavier__generator" points=1
# Check that init_xavier draws its random numbers from the generator it is given.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_init_xavier__generator(init_xavier)
### END HIDDEN TESTS
hw2checks.check_init_xavier__generator(init_xavier)

# %% [markdown]
# Compare the printed standard deviations with those of 4.2 and 4.3: the spread now shrinks
# only slowly from layer to layer (tanh squeezes the larger values a little each time)
# instead of collapsing by a constant factor per layer, and nothing saturates.

# %%
hw2utils.run_init_experiment(init_xavier)

# %% [markdown]
# ## Task 4.5 — He initialization (2 points)
#
# ReLU sets about half of its inputs to 0, which halves the mean square of the signal at
# every layer. He et al. (2015) double the variance to compensate:
#
# $$W_{ij} \sim \mathcal{N}\!\left(0, \frac{2}{n_{in}}\right).$$
#
# `init_he(n_in, n_out, generator)` draws from it. Note that $n_{in}$ is the number of
# **inputs** of the layer, the rows of your `(n_in, n_out)` matrix. (PyTorch stores a
# layer's weight the other way round, as `(out_features, in_features)`; that is why
# `nn.init` functions applied to an `(n_in, n_out)` tensor read the fans backwards.)

# %% answer="init_he"
def init_he(n_in, n_out, generator):
    """Weights from N(0, 2/n_in) of shape (n_in, n_out), drawn from `generator`."""
    ### BEGIN SOLUTION
    return torch.randn(n_in, n_out, generator=generator) * (2 / n_in) ** 0.5
    ### END SOLUTION


# %% test="init_he__distribution" points=1
# Check that init_he draws weights with mean 0 and standard deviation sqrt(2/n_in), on non-square shapes too.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_init_he__distribution(init_he)
### END HIDDEN TESTS
hw2checks.check_init_he__distribution(init_he)

# %% test="init_he__generator" points=1
# Check that init_he draws its random numbers from the generator it is given.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_init_he__generator(init_he)
### END HIDDEN TESTS
hw2checks.check_init_he__generator(init_he)

# %% [markdown]
# This experiment uses ReLU instead of tanh. ReLU outputs are never negative, so the
# histograms do not look like the normal curve: about half of each layer's activations are
# exactly 0 (the spike) and the rest spread to the right. Look for that spread staying the
# same in every layer: the mean square of the activations stays near 1 all the way down.

# %%
hw2utils.run_init_experiment(init_he, nonlinearity="relu")

# %% [markdown]
# ## Initializing a real network
#
# PyTorch's `torch.nn.init` functions fill a tensor in place, without recording anything
# for autograd: `nn.init.normal_(layer.weight, mean=0.0, std=0.01)`,
# `nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")`, …
# `net.modules()` visits every module inside `net` — containers, the containers inside
# them, and every layer — whereas `net.children()` (and looping over an `nn.Sequential`)
# stops at the first level.
#
# The two tasks below each write a subclass of `Supervise` whose constructor first calls
# `super().__init__(criterion, net)` (so `self.net` and `self.criterion` are set, and the
# forward is `Supervise`'s), then re-initializes, in place, the weight of **every**
# `nn.Linear` anywhere inside `self.net` — including layers nested in `nn.Sequential`s and
# residual blocks. Re-initialize only the weights: leave the biases as they are or set them
# to zero (both are accepted), and leave every other layer (BatchNorm, …) alone.
#
# ### Task 4.6 — Random weights (3 points)
#
# `Supervise_random_weights(criterion, net)`: every `nn.Linear` weight from
# $\mathcal{N}(0, 0.01^2)$ — mean 0, standard deviation 0.01.

# %% answer="supervise_random"
class Supervise_random_weights(Supervise):
    """Supervise(criterion, net) that first redraws every nn.Linear weight in net from N(0, 0.01²)."""

    def __init__(self, criterion, net):
        super().__init__(criterion, net)
        ### BEGIN SOLUTION
        for module in self.net.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.01)
        ### END SOLUTION


# %% test="supervise_random__statistics" points=1
# Check that every Linear weight has mean 0 and standard deviation 0.01 after wrapping.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_supervise_random__statistics(Supervise_random_weights)
### END HIDDEN TESTS
hw2checks.check_supervise_random__statistics(Supervise_random_weights)

# %% test="supervise_random__whole_tree" points=1
# Check that Linear layers inside nested containers are re-initialized too, and nothing else changes.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_supervise_random__whole_tree(Supervise_random_weights)
### END HIDDEN TESTS
hw2checks.check_supervise_random__whole_tree(Supervise_random_weights)

# %% test="supervise_random__wrapper" points=1
# Check that Supervise_random_weights keeps the network and the loss and computes Supervise's loss.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_supervise_random__wrapper(Supervise_random_weights)
### END HIDDEN TESTS
hw2checks.check_supervise_random__wrapper(Supervise_random_weights)

# %% [markdown]
# ### Task 4.7 — The deep network with small random weights (2 points)
#
# `net_4_7`: the network of Task 3.12 — Linear(36→32), ReLU, then four times
# Linear(32→32), ReLU, then Linear(32→1), Sigmoid (5,441 parameters). Wrap it:
# `model_4_7 = Supervise_random_weights(nn.BCELoss(), net_4_7)`. Optimizer `optmaker_4_7`:
# Adam with learning rate **0.001** and weight decay 1e-3 — a tenth of Part 3's learning
# rate (Task 4.9 says why). Your `ADAMOptimizer` from Part 2 lives in notebook 2, so use
# `torch.optim.Adam` here: it equals yours step for step (that is what its checks compared).
#
# The cell seeds the random generator first, so the initial weights repeat on every run and
# every computer; the training that follows repeats digit for digit only on the same computer
# (Part 3, "What repeats, and what does not"). What the text below says about 4.7 and 4.9
# held in at least 9 of 10 seeds at 1, 2 and 4 CPU threads.

# %% answer="net_4_7"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_4_7 = nn.Sequential(nn.Linear(36, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                        nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                        nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
model_4_7 = Supervise_random_weights(nn.BCELoss(), net_4_7)
optmaker_4_7 = lambda params: torch.optim.Adam(params, lr=0.001, weight_decay=1e-3)
### END SOLUTION

# %% test="net_4_7__architecture" points=1
# Check that net_4_7 has the layers of Task 3.12.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_net_4_7__architecture(net_4_7)
### END HIDDEN TESTS
hw2checks.check_net_4_7__architecture(net_4_7)

# %% test="net_4_7__wrapper" points=1
# Check that model_4_7 is a Supervise_random_weights around net_4_7 with a BCE loss.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_net_4_7__wrapper(globals().get("model_4_7"), net_4_7, globals().get("Supervise_random_weights"))
### END HIDDEN TESTS
hw2checks.check_net_4_7__wrapper(model_4_7, net_4_7)

# %% [markdown]
# Train it. With weights this small the deep network stays at chance: its training and
# held-out accuracy stay near 0.5. Look at the printed gradient range — how small is the
# smallest gradient? — and at the flat loss.
#
# Why does Adam not make up for the small gradients? What Adam rescales is the gradient of the
# whole loss, weight decay included, and the decay's part is about $10^{-5}$ for weights this
# small. At the start, the data's part in the first four layers is more than ten times
# smaller than that, and in layer 1 tens of thousands of times smaller (about $10^{-10}$), so
# Adam's steps follow the decay, and the decay pulls the small weights towards 0: the signal
# from the input never gets a chance to grow.

# %%
history_4_7 = run_test(model_4_7, optmaker_4_7)

# %% [markdown]
# ### Task 4.8 — Kaiming (He) weights (3 points)
#
# `Supervise_Kaiming_weights(criterion, net)`: every `nn.Linear` weight from
# `nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")`, which draws from
# $\mathcal{N}(0, 2/\text{fan\_in})$ with fan_in = `in_features` — Task 4.5's scale, for a
# weight stored as `(out_features, in_features)`.

# %% answer="supervise_kaiming"
class Supervise_Kaiming_weights(Supervise):
    """Supervise(criterion, net) that first redraws every nn.Linear weight in net with kaiming_normal_."""

    def __init__(self, criterion, net):
        super().__init__(criterion, net)
        ### BEGIN SOLUTION
        for module in self.net.modules():
            if isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        ### END SOLUTION


# %% test="supervise_kaiming__statistics" points=1
# Check that every Linear weight has mean 0 and standard deviation sqrt(2 / in_features) after wrapping.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_supervise_kaiming__statistics(Supervise_Kaiming_weights)
### END HIDDEN TESTS
hw2checks.check_supervise_kaiming__statistics(Supervise_Kaiming_weights)

# %% test="supervise_kaiming__whole_tree" points=1
# Check that Linear layers inside nested containers are re-initialized too, and nothing else changes.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_supervise_kaiming__whole_tree(Supervise_Kaiming_weights)
### END HIDDEN TESTS
hw2checks.check_supervise_kaiming__whole_tree(Supervise_Kaiming_weights)

# %% test="supervise_kaiming__wrapper" points=1
# Check that Supervise_Kaiming_weights keeps the network and the loss and computes Supervise's loss.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_supervise_kaiming__wrapper(Supervise_Kaiming_weights)
### END HIDDEN TESTS
hw2checks.check_supervise_kaiming__wrapper(Supervise_Kaiming_weights)

# %% [markdown]
# ### Task 4.9 — The deep network with Kaiming weights (2 points)
#
# `net_4_9`: the same network as 4.7, wrapped as
# `model_4_9 = Supervise_Kaiming_weights(nn.BCELoss(), net_4_9)`, with the same optimizer
# (`optmaker_4_9`: Adam, learning rate 0.001, weight decay 1e-3). 4.7 and 4.9 differ only in
# the initial weights, so whatever differs in their training is the initialization's doing.
#
# **Why a learning rate of 0.001 here?** Adam moves every weight by about the learning rate
# at each step, however small its gradient; in a network of six layers these changes compound
# from layer to layer, so the output swings hard from one step to the next. At Part 3's 0.01,
# this network with Kaiming weights did learn, but at 2 of the 10 seeds we tried a sudden
# spike of the loss, deep into training, switched off most of its ReLU units at once — a ReLU
# that outputs 0 for every example gets no gradient and cannot recover — and it ended at
# chance. 0.001, Adam's default, takes ten times smaller steps. (3.12 trained at 0.01: so
# compare 4.9 with 4.7, which share everything but the initialization.)

# %% answer="net_4_9"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_4_9 = nn.Sequential(nn.Linear(36, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                        nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                        nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
model_4_9 = Supervise_Kaiming_weights(nn.BCELoss(), net_4_9)
optmaker_4_9 = lambda params: torch.optim.Adam(params, lr=0.001, weight_decay=1e-3)
### END SOLUTION

# %% test="net_4_9__architecture" points=1
# Check that net_4_9 has the layers of Task 3.12.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_net_4_9__architecture(net_4_9)
### END HIDDEN TESTS
hw2checks.check_net_4_9__architecture(net_4_9)

# %% test="net_4_9__wrapper" points=1
# Check that model_4_9 is a Supervise_Kaiming_weights around net_4_9 with a BCE loss.
### BEGIN HIDDEN TESTS
import autograder.checks.part4 as _hidden; _hidden.check_net_4_9__wrapper(globals().get("model_4_9"), net_4_9, globals().get("Supervise_Kaiming_weights"))
### END HIDDEN TESTS
hw2checks.check_net_4_9__wrapper(model_4_9, net_4_9)

# %% [markdown]
# Train it, and compare the gradient range with 4.7's. With Kaiming's scale the signal keeps
# its size through the six layers, so every layer gets a gradient it can learn from: the
# network fits its training set (training accuracy above 0.9) where 4.7 stayed at chance.
# Now look at the held-out accuracy: it stays far below the training accuracy (by 0.2 or
# more). The network memorizes its training examples rather than finding the rule.
# Initialization decides whether a deep network can be trained at all; it does not make it
# generalize.

# %%
history_4_9 = run_test(model_4_9, optmaker_4_9)

# %% [markdown]
# **How does PyTorch initialize a layer by default?** `nn.Linear(n_in, n_out)` calls
# `nn.init.kaiming_uniform_(weight, a=math.sqrt(5))`, which works out to
# $W_{ij} \sim U\!\left(-1/\sqrt{n_{in}},\ 1/\sqrt{n_{in}}\right)$, and draws the bias from
# the same interval. A uniform distribution on $[-c, c]$ has variance $c^2/3$, so the
# default weight variance is $1/(3 n_{in})$: a third of Xavier's and a sixth of He's. Each
# ReLU layer therefore shrinks the mean square of the signal by a factor of about 6, which
# a shallow network shrugs off but which compounds over the five ReLU layers of the network of
# 3.12 to about $6^5 \approx 8000$. That is why He's scale matters for deep ReLU
# networks.

# %% [markdown]
# ## Extra credit (10 points)
#
# ### EC1 — Transfer learning (5 points)
#
# `hard-classification.npz` has the same kind of input as the tiny dataset — 36 bits read as
# a 6×6 grid, the same sizes, balanced labels — but a harder rule. Trained on it from
# scratch, the residual network of Task 3.17 ends near chance on held-out data (at most about
# 0.6); watch what its training accuracy does meanwhile. Pretrained on the tiny dataset and
# then fine-tuned on hard, **keeping the pretrained weights**, the same network usually
# reaches 0.95 or more (in 27 of the 30 runs we made: 10 seeds at 1, 2 and 4 CPU threads; in
# the other 3 it stayed near chance, like a network trained from scratch — if yours does,
# pretrain again from another seed and fine-tune again). Your task: train a network that
# classifies the hard dataset, and save it.
#
# 1. Paste your `ResidualSequence` from Part 3 into the cell below and build 3.17's network
#    (or another network of your choice, ending in a Sigmoid, built from `nn.Sequential`,
#    `ResidualSequence`, `nn.Linear`, `nn.BatchNorm1d` and elementwise layers such as
#    `nn.ReLU` — what `save_ec_model` can save).
# 2. Pretrain it on tiny with 3.17's optimizer (Adam, learning rate 0.01, weight decay 1e-3)
#    until it solves tiny: `run_test(Supervise(nn.BCELoss(), net), optmaker,
#    data=hw2utils.load_dataset("tiny"))` (the default 2000 epochs; it stops early at 100 %
#    held-out, which 3.17's shorter budget in Part 3 does not always reach).
# 3. Fine-tune the **same** `net` on hard: `run_test(Supervise(nn.BCELoss(), net), optmaker,
#    data=hw2utils.load_dataset("hard"))`. A new plain `Supervise` around the same network
#    keeps its weights (and `run_test` makes a fresh optimizer); `Supervise_Kaiming_weights`
#    would erase everything the network learned on tiny.
# 4. `hw2utils.save_ec_model(net)` writes your trained network to `ec_transfer_model.pt`
#    next to this notebook and prints its hard val accuracy. **Submit that file together
#    with this notebook** (in Colab: download it from the Files panel).
#
# **How it is graded.** The grader loads your file and measures its accuracy on 4000 hard
# examples that are in none of the files you have: 1 point when the file loads and outputs
# probabilities, 2 points at an accuracy of 0.75 or more, 2 more at 0.95 or more. While
# grading, this cell runs again, but `run_test` trains only a few epochs and
# `save_ec_model` does not touch your file. Without the file, EC1 scores 0, and nothing else
# is affected.

# %% answer="ec_transfer"
### BEGIN SOLUTION
# Instructor's reference. It trains with a plain loop rather than run_test because it must
# produce a trained model even while nbgrader validates this notebook, when run_test stops
# after a few epochs; stopping each stage at 99 % held-out takes about 3 s on one CPU core
# and scores about 0.99 on unseen hard examples. It marks its file as the reference:
# if one is ever left in source/hw2, nbgrader would copy it over every submitted file, and
# the hidden EC1 checks refuse to grade a reference file during autograding.
import os


class ResidualSequence(nn.Sequential):
    def forward(self, x):
        return super().forward(x) + x


def fit(net, data, target=0.99, max_epochs=2000):
    """Full-batch Adam (lr 0.01, weight decay 1e-3), as run_test trains, until `target` held-out."""
    net.to(data.train_data.device)
    model = Supervise(nn.BCELoss(), net)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-3)
    for epoch in range(1, max_epochs + 1):
        optimizer.zero_grad()
        model(data.train_data, data.train_labels).backward()
        optimizer.step()
        if epoch % 10 == 0 and hw2utils.accuracy(net, data.val_data, data.val_labels) >= target:
            break
    held_out = hw2utils.accuracy(net, data.val_data, data.val_labels)
    print(f"{data.name}: {epoch} epochs, held-out accuracy {held_out:.4f}")


if hw2utils.grading_mode() and os.path.exists(hw2utils.EC_MODEL_FILE):
    print(f"Grading mode: keeping {hw2utils.EC_MODEL_FILE}.")
else:
    hw2utils.set_seed(SEED)
    net_ec = nn.Sequential(
        nn.Linear(36, 16),
        *[ResidualSequence(nn.BatchNorm1d(16), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))
          for _ in range(2)],
        nn.BatchNorm1d(16), nn.Linear(16, 1), nn.Sigmoid())
    fit(net_ec, hw2utils.load_dataset("tiny"))  # pretrain
    fit(net_ec, hw2utils.load_dataset("hard"))  # fine-tune: same weights, fresh optimizer
    hw2utils._write_ec_model(net_ec, hw2utils.EC_MODEL_FILE, saved_by="reference")
### END SOLUTION

# %% test="ec_transfer__saved_model" extra_credit=1
# Check that ec_transfer_model.pt exists, loads and outputs probabilities.
### BEGIN HIDDEN TESTS
import autograder.checks.extra_credit as _hidden; _hidden.check_ec_transfer__saved_model()
### END HIDDEN TESTS
hw2checks.check_ec_transfer__saved_model()

# %% test="ec_transfer__accuracy_75" extra_credit=2
# Check that the saved network classifies at least 75 % of hard held-out examples correctly.
### BEGIN HIDDEN TESTS
import autograder.checks.extra_credit as _hidden; _hidden.check_ec_transfer__accuracy_75()
### END HIDDEN TESTS
hw2checks.check_ec_transfer__accuracy_75()

# %% test="ec_transfer__accuracy_95" extra_credit=2
# Check that the saved network classifies at least 95 % of hard held-out examples correctly.
### BEGIN HIDDEN TESTS
import autograder.checks.extra_credit as _hidden; _hidden.check_ec_transfer__accuracy_95()
### END HIDDEN TESTS
hw2checks.check_ec_transfer__accuracy_95()

# %% [markdown]
# ### EC2 — The rule behind the data (5 points)
#
# A network that classifies the tiny dataset perfectly has found its rule — but it does
# not tell us what the rule is. Find out: write `rule(grid)`, a short function that returns
# the label (True for 1, False for 0) of one example from its grid alone.
#
# `rule` receives one 6×6 float tensor of 0. and 1., with `grid[r, c]` = feature `6*r + c`
# (as `data.train_data[i].reshape(6, 6)` is, for `data = hw2utils.load_dataset("tiny")`),
# and returns one bool. It must compute the
# label from the cells itself: a rule that runs a network (any `nn.Module`) is refused.
# Where to start: no single cell predicts the label on its own (the datasheet gives the
# numbers: `data/DATASHEET.md` in the course folder; in Colab, open the address that
# `print(hw2utils.base_url() + "data/DATASHEET.md")` shows). The first layer of a network you
# trained on tiny shows which cells it looks at together; test every guess against the
# training labels.
#
# **How it is graded.** The grader calls `rule` on 2000 tiny examples that are in none of
# the files you have: 2 points when it agrees with the true label on 90 % of them or more,
# 3 more at 99 % or more.

# %% answer="ec_rule"
def rule(grid):
    """True for label 1, False for label 0, for one 6x6 grid of 0./1. (grid[r, c] is feature 6r + c)."""
    ### BEGIN SOLUTION
    # Instructor source only: the term's secret cells, written in by the build from
    # lessons.rules (its DEFAULT_SEED). Each of six groups compares its three "plus" cells
    # with its three "minus" cells; the label says whether as many of groups 0-2 as of groups
    # 3-5 have more plus cells set than minus cells.
    term_plus, term_minus = "@EC2_CELLS@"
    wins = []
    for plus, minus in zip(term_plus, term_minus):
        on_plus = sum(int(grid[divmod(int(j), 6)]) for j in plus)
        on_minus = sum(int(grid[divmod(int(j), 6)]) for j in minus)
        wins.append(on_plus > on_minus)
    return sum(wins[:3]) == sum(wins[3:])
    ### END SOLUTION


# %% test="ec_rule__agreement_90" extra_credit=2
# Check that rule agrees with at least 90 % of the tiny held-out labels.
### BEGIN HIDDEN TESTS
import autograder.checks.extra_credit as _hidden; _hidden.check_ec_rule__agreement_90(rule)
### END HIDDEN TESTS
hw2checks.check_ec_rule__agreement_90(rule)

# %% test="ec_rule__agreement_99" extra_credit=3
# Check that rule agrees with at least 99 % of the tiny held-out labels.
### BEGIN HIDDEN TESTS
import autograder.checks.extra_credit as _hidden; _hidden.check_ec_rule__agreement_99(rule)
### END HIDDEN TESTS
hw2checks.check_ec_rule__agreement_99(rule)

# %% [markdown]
# ## Sources
#
# List anyone and anything that helped you (classmates, web pages, AI tools) and how.
# Write "none" if nothing did.
