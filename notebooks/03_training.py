# %% [markdown]
# # HW2 Part 3 — Training networks (30 points)
#
# In this part you train small networks on a binary classification problem and watch what
# the choice of nonlinearity, loss, optimizer, weight decay, width, depth, BatchNorm and
# residual connections does to training.
#
# **How this notebook works.** Write your code where it says `YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and your answers where it says `YOUR ANSWER HERE`.
# Each task is followed by a cell that starts with *"Check that …"*: run it. It tries your
# code and prints one line when it passes; the grader runs more checks of the same kind.
# Before you submit, use *Restart kernel and run all cells* and check that every cell runs.
# Do not rename this file (in Colab: do not keep the "Copy of" prefix).
#
# **What is graded.** Each network's architecture (layer types, sizes, order) is graded
# automatically, and your written answers by hand. The accuracy your training reaches is not
# graded: your plots are material for the questions.
#
# **Time.** Each experiment trains for 300 to 500 epochs, the number its cell passes to
# `run_test`. Restart-and-run-all of this notebook took 80 s on an otherwise idle 2-core x86
# CPU (the size of Colab's free CPU runtime; measured 2026-12-07); a busy or slower machine
# takes longer — up to several times as long when other programs compete for the cores.
# While grading, `run_test` trains only a few epochs, so your submission is graded quickly
# whatever your hardware.
#
# **Credit.** If you used help — classmates, web pages, AI tools — say which and for what
# in the last cell.

# %%
# @SETUP@

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn

import hw2checks
import hw2utils
from hw2utils import Supervise, run_test

SEED = 7150  # every experiment starts from this seed: reruns on this computer repeat exactly
hw2utils.set_seed(SEED)
print(f"running on {hw2utils.pick_device()}")

# %% [markdown]
# ## The data
#
# Each example is 36 bits, best read as a 6×6 grid of black and white cells, with a label 0
# or 1 given by a hidden rule (the extra credit in Part 4 asks you to find it). Train on the
# training split and watch the held-out (validation) split; the test split stays untouched.

# %%
data = hw2utils.load_dataset("tiny")
print(data)
print(f"{data.train_data.shape[0]} training examples of {data.train_data.shape[1]} features, "
      f"{data.val_data.shape[0]} held-out; share of label 1: "
      f"{data.train_labels.mean().item():.2f} (train), {data.val_labels.mean().item():.2f} (held-out)")
fig, axes = plt.subplots(1, 8, figsize=(12, 2))
for ax, grid, label in zip(axes, data.train_data[:8].cpu(), data.train_labels[:8].cpu()):
    ax.imshow(grid.reshape(6, 6), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"label {int(label)}")
    ax.set_xticks([])
    ax.set_yticks([])

# %% [markdown]
# Half the examples have each label, so always guessing one label scores 0.50: that is
# *chance* on this problem.
#
# **What repeats, and what does not.** Each experiment cell sets the seed, so the initial
# weights are the same on every computer, and a rerun on the same computer repeats every
# digit. On another computer the numbers differ: PyTorch splits each sum over the CPU's
# threads (`torch.get_num_threads()`; Colab, laptops and the graders' machines have different
# counts) or over a GPU's cores, so the same sums are added in a different order, the last
# digit differs, and hundreds of epochs amplify that into accuracies a few hundredths — at
# times a few tenths — apart, and loss spikes at other epochs. What the questions say about
# the results holds on every machine: the kit's authors replayed the experiments with 10
# seeds at 1, 2 and 4 CPU threads, and every statement in a question held in at least 9 of
# the 10 seeds in each setting (`print(torch.get_num_threads())` shows yours).
#
# ## The training harness
#
# Two provided pieces train every network here (read them in `hw2utils.py`):
#
# - `Supervise(criterion, net)` pairs a network with a loss: calling it on `(x, y)` returns
#   `criterion(net(x).squeeze(-1), y)`. Every network here ends in a Sigmoid and outputs the
#   probability of label 1.
# - `run_test(model, optmaker, epochs)` trains `model` for `epochs` epochs on the whole
#   training split at once (full batch) with `optimizer = optmaker(model.parameters())`.
#   Every 10 epochs it measures training and held-out accuracy (in `eval()` mode, without
#   gradients) and stops early if held-out accuracy reaches 100 %. Its progress bar shows,
#   at each measurement, the loss and how much it changed over the last 100 epochs, both
#   accuracies, and the best held-out accuracy so far: a loss that no longer falls while
#   accuracy sits near 0.50 means the run is stuck; training accuracy pulling away from
#   held-out accuracy means the network is memorizing its training examples. At the end it
#   prints a summary — including the range of the largest gradient per parameter tensor,
#   where a tiny lower end means vanishing gradients — and plots the loss (log scale) and
#   both accuracies. It returns a history you can inspect (`history.val_acc`,
#   `history.losses`, …). Each task's cell passes its number of epochs; runs that a
#   question compares train for the same number.
#
# **Optimizers.** The tasks use PyTorch's `torch.optim.SGD` and `torch.optim.Adam`, so that
# what you observe in each run, and what the questions ask about, does not depend on your
# Parts 1 and 2. Your `SimpleGradientDescent` (Part 1) and `ADAMOptimizer` (Part 2) should
# equal them step for step: the next section brings them in and trains a first network with
# yours, and after Task 3.7 you train the same network with yours and with PyTorch's and
# compare.
#
# In each task: build the network described, name it as asked, and write its loss and its
# optimizer maker (a function of the parameters, e.g. `lambda params: torch.optim.SGD(params, lr=1.0)`).
# The cell seeds the random generator first, so the initial weights repeat on every run.

# %% [markdown]
# ## Your optimizers
#
# Each notebook runs in its own kernel, and in Colab the other notebooks' files are not on
# the runtime's disk, so bring your optimizers in by pasting them: copy your answer cells
# for `SimpleGradientDescent` (Part 1, Task 1.3), `ema_update` and `ADAMOptimizer` (Part 2,
# Tasks 2.2 and 2.3), with any imports they need beyond `torch` and `nn`, between the quotes
# of the next cell, in place of its two placeholder lines. Your code may use any quotes
# except three single quotes in a row.
#
# The quotes keep a paste with a mistake from stopping this notebook:
# `hw2utils.load_own_optimizers` runs your code, tries each class for two epochs on a small
# layer, and prints which class is used. A class that is missing or raises an error is
# replaced by PyTorch's (`torch.optim.SGD`, `torch.optim.Adam`), and its line says why;
# everything below runs either way. This cell is not graded.

# %% answer="own_optimizers"
YOUR_OPTIMIZERS = r'''
### BEGIN SOLUTION
# @OWN_OPTIMIZERS@
### END SOLUTION
'''
SimpleGradientDescent, ADAMOptimizer = hw2utils.load_own_optimizers(YOUR_OPTIMIZERS)

# %% [markdown]
# ### A worked example: your gradient descent on a wide sigmoid network
#
# A complete run to start from: two hidden layers of 256 sigmoid units (36→256→256→1,
# 75,521 parameters), the mean squared error, and your `SimpleGradientDescent` with learning
# rate 0.1, for 50 epochs. `run_test` takes the network wrapped with its loss in
# `Supervise`, and an *optimizer maker*: a function that receives the parameters and returns
# an optimizer. It calls the maker once, on `model.parameters()`, and then, every epoch, the
# two methods Parts 1 and 2 asked you to write, zero_grad and step: that is all it asks of an
# optimizer, yours or PyTorch's. Each task below follows this pattern; Task 3.1 trains a
# narrower network of the same kind with a larger learning rate.

# %%
hw2utils.set_seed(SEED)
example_net = nn.Sequential(nn.Linear(36, 256), nn.Sigmoid(), nn.Linear(256, 256), nn.Sigmoid(),
                            nn.Linear(256, 1), nn.Sigmoid())
run_test(Supervise(nn.MSELoss(), example_net), lambda params: SimpleGradientDescent(params, lr=0.1),
         epochs=50)

# %% [markdown]
# ## Nonlinearities
#
# ### Task 3.1 — Sigmoid hidden units (1 point)
#
# `net_3_1`: Linear(36→128), Sigmoid, Linear(128→128), Sigmoid, Linear(128→1), Sigmoid
# (21,377 parameters). Loss `loss_3_1`: mean squared error (`nn.MSELoss`). Optimizer
# `optmaker_3_1`: `torch.optim.SGD` with learning rate 1.0.

# %% answer="net_3_1"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_1 = nn.Sequential(nn.Linear(36, 128), nn.Sigmoid(), nn.Linear(128, 128), nn.Sigmoid(),
                        nn.Linear(128, 1), nn.Sigmoid())
loss_3_1 = nn.MSELoss()
optmaker_3_1 = lambda params: torch.optim.SGD(params, lr=1.0)
### END SOLUTION

# %% test="net_3_1__architecture" points=1
# Check that net_3_1 has the layers Task 3.1 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.1", net_3_1)
### END HIDDEN TESTS
hw2checks.check_architecture("3.1", net_3_1)

# %%
history_3_1 = run_test(Supervise(loss_3_1, net_3_1), optmaker_3_1, epochs=500)

# %% [markdown]
# ### Task 3.2 — Tanh hidden units (1 point)
#
# `net_3_2`: as 3.1 with Tanh instead of the two hidden Sigmoids (the output keeps its
# Sigmoid). Same loss and optimizer as 3.1.

# %% answer="net_3_2"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_2 = nn.Sequential(nn.Linear(36, 128), nn.Tanh(), nn.Linear(128, 128), nn.Tanh(),
                        nn.Linear(128, 1), nn.Sigmoid())
loss_3_2 = nn.MSELoss()
optmaker_3_2 = lambda params: torch.optim.SGD(params, lr=1.0)
### END SOLUTION

# %% test="net_3_2__architecture" points=1
# Check that net_3_2 has the layers Task 3.2 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.2", net_3_2)
### END HIDDEN TESTS
hw2checks.check_architecture("3.2", net_3_2)

# %%
history_3_2 = run_test(Supervise(loss_3_2, net_3_2), optmaker_3_2, epochs=500)

# %% [markdown]
# ### Task 3.3 — ReLU hidden units (1 point)
#
# `net_3_3`: as 3.1 with ReLU as the hidden nonlinearity. Same loss and optimizer as 3.1.

# %% answer="net_3_3"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_3 = nn.Sequential(nn.Linear(36, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                        nn.Linear(128, 1), nn.Sigmoid())
loss_3_3 = nn.MSELoss()
optmaker_3_3 = lambda params: torch.optim.SGD(params, lr=1.0)
### END SOLUTION

# %% test="net_3_3__architecture" points=1
# Check that net_3_3 has the layers Task 3.3 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.3", net_3_3)
### END HIDDEN TESTS
hw2checks.check_architecture("3.3", net_3_3)

# %%
history_3_3 = run_test(Supervise(loss_3_3, net_3_3), optmaker_3_3, epochs=500)

# %% [markdown]
# ## Loss and optimizer
#
# For a probability output, binary cross-entropy $-[y\log p + (1-y)\log(1-p)]$ is the
# natural loss: its gradient with respect to the last layer's input is $p - y$, which does
# not vanish when a Sigmoid output saturates on the wrong side, as the MSE gradient does.
#
# Tasks 3.4–3.7 each change one thing of an earlier run: 3.4 the loss of 3.3, 3.5 the
# learning rate of 3.4, 3.6 the optimizer of 3.4, 3.7 the weight decay of 3.6.
#
# ### Task 3.4 — Binary cross-entropy (1 point)
#
# `net_3_4`: the ReLU network of 3.3 with the same optimizer (`torch.optim.SGD`, learning
# rate 1.0); only the loss changes, to binary cross-entropy (`nn.BCELoss`).

# %% answer="net_3_4"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_4 = nn.Sequential(nn.Linear(36, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                        nn.Linear(128, 1), nn.Sigmoid())
loss_3_4 = nn.BCELoss()
optmaker_3_4 = lambda params: torch.optim.SGD(params, lr=1.0)
### END SOLUTION

# %% test="net_3_4__architecture" points=1
# Check that net_3_4 has the layers Task 3.4 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.4", net_3_4)
### END HIDDEN TESTS
hw2checks.check_architecture("3.4", net_3_4)

# %%
history_3_4 = run_test(Supervise(loss_3_4, net_3_4), optmaker_3_4, epochs=500)

# %% [markdown]
# ### Task 3.5 — Half the learning rate (1 point)
#
# `net_3_5`: 3.4 again (the ReLU network, binary cross-entropy, `torch.optim.SGD`) with
# learning rate 0.5 instead of 1.0; only the learning rate changes.

# %% answer="net_3_5"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_5 = nn.Sequential(nn.Linear(36, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                        nn.Linear(128, 1), nn.Sigmoid())
loss_3_5 = nn.BCELoss()
optmaker_3_5 = lambda params: torch.optim.SGD(params, lr=0.5)
### END SOLUTION

# %% test="net_3_5__architecture" points=1
# Check that net_3_5 has the layers Task 3.5 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.5", net_3_5)
### END HIDDEN TESTS
hw2checks.check_architecture("3.5", net_3_5)

# %%
history_3_5 = run_test(Supervise(loss_3_5, net_3_5), optmaker_3_5, epochs=500)

# %% [markdown]
# ### Task 3.6 — Adam (1 point)
#
# `net_3_6`: 3.4 with Adam instead of SGD: the ReLU network, binary cross-entropy, and
# `torch.optim.Adam` with learning rate 0.01 and no weight decay.

# %% answer="net_3_6"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_6 = nn.Sequential(nn.Linear(36, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                        nn.Linear(128, 1), nn.Sigmoid())
loss_3_6 = nn.BCELoss()
optmaker_3_6 = lambda params: torch.optim.Adam(params, lr=0.01)
### END SOLUTION

# %% test="net_3_6__architecture" points=1
# Check that net_3_6 has the layers Task 3.6 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.6", net_3_6)
### END HIDDEN TESTS
hw2checks.check_architecture("3.6", net_3_6)

# %%
history_3_6 = run_test(Supervise(loss_3_6, net_3_6), optmaker_3_6, epochs=500)

# %% [markdown]
# ### Task 3.7 — Adam with weight decay (1 point)
#
# `net_3_7`: 3.6 with weight decay: `torch.optim.Adam` with learning rate 0.01 and
# `weight_decay=1e-3`. From here on every task uses binary cross-entropy and this optimizer.

# %% answer="net_3_7"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_7 = nn.Sequential(nn.Linear(36, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                        nn.Linear(128, 1), nn.Sigmoid())
loss_3_7 = nn.BCELoss()
optmaker_3_7 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_7__architecture" points=1
# Check that net_3_7 has the layers Task 3.7 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.7", net_3_7)
### END HIDDEN TESTS
hw2checks.check_architecture("3.7", net_3_7)

# %%
history_3_7 = run_test(Supervise(loss_3_7, net_3_7), optmaker_3_7, epochs=500)

# %% [markdown]
# ### Try it (not graded): is yours the same as PyTorch's?
#
# The next two cells train the network of Tasks 3.4–3.7 twice from the same initial weights
# (the seed of your runs) for 50 epochs: with your `SimpleGradientDescent` and with
# `torch.optim.SGD` at learning rate 1.0 (the setup of 3.4, without weight decay), then
# with your `ADAMOptimizer` and with `torch.optim.Adam` at learning rate 0.01 and weight decay
# 1e-3 (the setup of 3.7). `hw2utils.compare_optimizers` prints both training losses every 10
# epochs, both accuracies after the last epoch, and a verdict: *same to printed precision*, or
# *differs from epoch N*. It computes in float64: in float32, two correct versions of Adam
# that round differently can drift apart within a few dozen epochs, since Adam divides each
# gradient by its typical size and so turns rounding noise in a near-zero gradient into a
# full step. If your cell near the top printed that PyTorch's class stands in for yours,
# there is nothing to compare, and the verdict says so.
#
# Answer for yourself (this is not graded, and nothing below depends on it): how does your
# implementation compare — is it the same? If not, from which epoch does it differ, and
# which part of your update (weight decay, the bias correction, `eps`) could explain it?

# %%
def relu_network():
    """The network of Tasks 3.4-3.7, built afresh."""
    return nn.Sequential(nn.Linear(36, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                         nn.Linear(128, 1), nn.Sigmoid())


hw2utils.compare_optimizers(relu_network, nn.BCELoss(),
                            lambda params: SimpleGradientDescent(params, lr=1.0),
                            lambda params: torch.optim.SGD(params, lr=1.0), epochs=50, seed=SEED)

# %%
hw2utils.compare_optimizers(relu_network, nn.BCELoss(),
                            lambda params: ADAMOptimizer(params, lr=0.01, weight_decay=1e-3),
                            lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3),
                            epochs=50, seed=SEED)

# %% [markdown]
# ## Questions 3.A–3.B (4 points)
#
# **3.A (2 points).** Compare the sigmoid (3.1), tanh (3.2) and ReLU (3.3) networks after
# their 500 epochs: which learned, which did not, and why? Use the gradient ranges printed
# under each run, and what the derivative of each nonlinearity looks like. (Glorot and
# Bengio, *Understanding the difficulty of training deep feedforward neural networks*, 2010,
# studies exactly this.)

# %% [markdown] manual="q_nonlinearities" points=2
# **Model answer.** After 500 epochs the sigmoid network is still at chance (held-out below
# 0.60), ReLU clearly does best (0.10 or more above sigmoid), and tanh lands in between — in
# some runs barely above sigmoid, in others partway up. A sigmoid's derivative is at most
# 0.25 and its outputs are all positive (not zero-centred), so each layer shrinks the
# gradient and biases the next layer's inputs; units saturate and the gradient reaching the
# first layer is tiny (see the small lower end of the gradient range). Tanh is zero-centred
# with derivative up to 1, so gradients survive better, but it still saturates, and around
# 0 it is nearly linear, so the freshly initialized network computes an almost linear
# function that must first grow out of it. ReLU's derivative is exactly 1 for active units
# and its kink makes the network nonlinear from the first step: gradients pass through
# unshrunk and training moves fastest.
#
# **Rubric.** 1 point: the ranking (sigmoid ≈ chance < tanh < ReLU) read from the runs;
# accept tanh described as only just above chance. 1 point: the explanation via
# derivatives / saturation / vanishing gradients (zero-centring and the near-linear start
# are a bonus, not required).

# %% [markdown]
# **3.B (2 points).** Compare Adam without weight decay (3.6) with SGD (3.4) and with Adam
# with weight decay (3.7), all three after the same 500 epochs: look at training and
# held-out accuracy. What did Adam do without decay, and how did weight decay change it?

# %% [markdown] manual="q_adam_overfitting" points=2
# **Model answer.** Without decay Adam fits the training set much faster than SGD (training
# accuracy 0.95 or more, at least 0.15 above SGD's after the same epochs) while its held-out
# accuracy stays far lower (0.20 or more below training): the network memorizes the
# training examples (overfitting) — Adam's per-parameter step sizes let it fit fast. With
# weight decay 1e-3 the held-out accuracy is higher (by 0.05 or more) and the gap between
# training and held-out accuracy narrows (by 0.10 or more): the penalty on
# $\lVert\theta\rVert^2$ keeps the weights small, which limits how sharply the network can
# fit individual examples, so it learns something closer to the rule.
#
# **Rubric.** 1 point: overfitting/memorization without decay (high train, much lower
# held-out; fitting faster than SGD is a bonus). 1 point: decay improves held-out accuracy
# or narrows the gap, with the mechanism (smaller weights / regularization / simpler
# function).

# %% [markdown]
# ## Width
#
# Tasks 3.8–3.10 use the 3.7 setup (BCE, Adam lr 0.01, weight decay 1e-3, 500 epochs) with
# narrower hidden layers. The parameter count falls fast with width:
# $36w + w + w^2 + w + w + 1$.
#
# ### Task 3.8 — Width 64 (1 point)
#
# `net_3_8`: Linear(36→64), ReLU, Linear(64→64), ReLU, Linear(64→1), Sigmoid (6,593 parameters).

# %% answer="net_3_8"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_8 = nn.Sequential(nn.Linear(36, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                        nn.Linear(64, 1), nn.Sigmoid())
loss_3_8 = nn.BCELoss()
optmaker_3_8 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_8__architecture" points=1
# Check that net_3_8 has the layers Task 3.8 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.8", net_3_8)
### END HIDDEN TESTS
hw2checks.check_architecture("3.8", net_3_8)

# %%
history_3_8 = run_test(Supervise(loss_3_8, net_3_8), optmaker_3_8, epochs=500)

# %% [markdown]
# ### Task 3.9 — Width 32 (1 point)
#
# `net_3_9`: the same with 32 units per hidden layer (2,273 parameters).

# %% answer="net_3_9"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_9 = nn.Sequential(nn.Linear(36, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                        nn.Linear(32, 1), nn.Sigmoid())
loss_3_9 = nn.BCELoss()
optmaker_3_9 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_9__architecture" points=1
# Check that net_3_9 has the layers Task 3.9 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.9", net_3_9)
### END HIDDEN TESTS
hw2checks.check_architecture("3.9", net_3_9)

# %%
history_3_9 = run_test(Supervise(loss_3_9, net_3_9), optmaker_3_9, epochs=500)

# %% [markdown]
# ### Task 3.10 — Width 16 (1 point)
#
# `net_3_10`: the same with 16 units per hidden layer (881 parameters).

# %% answer="net_3_10"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_10 = nn.Sequential(nn.Linear(36, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, 1), nn.Sigmoid())
loss_3_10 = nn.BCELoss()
optmaker_3_10 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_10__architecture" points=1
# Check that net_3_10 has the layers Task 3.10 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.10", net_3_10)
### END HIDDEN TESTS
hw2checks.check_architecture("3.10", net_3_10)

# %%
history_3_10 = run_test(Supervise(loss_3_10, net_3_10), optmaker_3_10, epochs=500)

# %% [markdown]
# **3.C (2 points).** Put the four widths side by side (128 in 3.7, then 64, 32, 16): for
# each, its parameter count, its final training accuracy and its final held-out accuracy
# (`history_3_7.train_acc`, `history_3_7.val_acc`, …). Compare the widest and the narrowest
# network: how well did each fit its training set in the same 500 epochs, and what does that
# say about capacity? Then look at all four: does training accuracy fall step by step as the
# width shrinks in your table? If it does not, what could explain it (look at the plots of
# 3.7 and 3.8)? Do the held-out accuracies line up with width?

# %% [markdown] manual="q_width" points=2
# **Model answer.** The parameter count falls from 21,377 to 6,593, 2,273 and 881. In the
# same 500 epochs the narrowest network (16 units) fits its training set less well than the
# widest (128 units): its training accuracy ends 0.03 or more lower. With fewer units it has
# less capacity — fewer features to combine, fewer parameters to fit (or memorize)
# individual examples. The widths in between need not line up: in many runs width 64 ends
# above width 128 in training accuracy, or width 32 above width 64, and which one does
# changes with the seed and the computer. Capacity bounds what a network *can* fit, not where it is after
# a fixed number of epochs: with Adam at lr 0.01 training accuracy climbs in steps, stalls
# and sometimes drops back (the plots show it), so after 500 epochs a wide network can be at
# a worse moment of its path than a narrower one. Held-out accuracy does not follow width in
# a fixed order either: it depends on how much of what each network fitted is the rule
# rather than memorized examples — the gap between training and held-out accuracy shows that.
#
# **Rubric.** 1 point: the table (parameter counts and the student's own accuracies). 1
# point: the widest network fits the training set better than the narrowest, explained by
# capacity; an order of the middle widths that breaks the pattern read as run-to-run noise of
# training (not as "wider is worse"). Do not require the four to line up or a particular
# width to win on held-out accuracy: both vary between runs and machines.

# %% [markdown]
# ## Depth and BatchNorm
#
# Tasks 3.11–3.13 train for 400 epochs each.
#
# ### Task 3.11 — Four layers (1 point)
#
# `net_3_11`: four Linear layers of width 64: Linear(36→64), ReLU, Linear(64→64), ReLU,
# Linear(64→64), ReLU, Linear(64→1), Sigmoid (10,753 parameters).

# %% answer="net_3_11"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_11 = nn.Sequential(nn.Linear(36, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1), nn.Sigmoid())
loss_3_11 = nn.BCELoss()
optmaker_3_11 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_11__architecture" points=1
# Check that net_3_11 has the layers Task 3.11 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.11", net_3_11)
### END HIDDEN TESTS
hw2checks.check_architecture("3.11", net_3_11)

# %%
history_3_11 = run_test(Supervise(loss_3_11, net_3_11), optmaker_3_11, epochs=400)

# %% [markdown]
# ### Task 3.12 — Six narrow layers (1 point)
#
# `net_3_12`: six Linear layers of width 32: Linear(36→32), then four times ReLU,
# Linear(32→32), then ReLU, Linear(32→1), Sigmoid (5,441 parameters).

# %% answer="net_3_12"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_12 = nn.Sequential(nn.Linear(36, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
loss_3_12 = nn.BCELoss()
optmaker_3_12 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_12__architecture" points=1
# Check that net_3_12 has the layers Task 3.12 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.12", net_3_12)
### END HIDDEN TESTS
hw2checks.check_architecture("3.12", net_3_12)

# %%
history_3_12 = run_test(Supervise(loss_3_12, net_3_12), optmaker_3_12, epochs=400)

# %% [markdown]
# ### Task 3.13 — BatchNorm (1 point)
#
# `nn.BatchNorm1d(n)` normalizes each of its `n` inputs to zero mean and unit variance over
# the batch, then applies a learned scale and shift. In `eval()` mode it uses running
# averages collected during training instead of the batch's statistics.
#
# `net_3_13`: the network of 3.12 with a `BatchNorm1d(32)` right after the **first** and
# right after the **last** hidden ReLU (5,569 parameters).

# %% answer="net_3_13"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_13 = nn.Sequential(nn.Linear(36, 32), nn.ReLU(), nn.BatchNorm1d(32),
                         nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.BatchNorm1d(32), nn.Linear(32, 1), nn.Sigmoid())
loss_3_13 = nn.BCELoss()
optmaker_3_13 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_13__architecture" points=1
# Check that net_3_13 has the layers Task 3.13 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.13", net_3_13)
### END HIDDEN TESTS
hw2checks.check_architecture("3.13", net_3_13)

# %%
history_3_13 = run_test(Supervise(loss_3_13, net_3_13), optmaker_3_13, epochs=400)

# %% [markdown]
# **3.D (2 points).** What did depth do without BatchNorm (3.12), and what did BatchNorm
# change (3.13)? Use the accuracies, the printed gradient ranges and the plots: how high did
# each network's training accuracy get during training (`max(history_3_13.train_accs)`), and
# where did it end? If 3.13's loss jumped up at some point, describe what happened then.

# %% [markdown] manual="q_depth_batchnorm" points=2
# **Model answer.** The six-layer network of width 32 does not learn at all: training and
# held-out accuracy stay at chance, the loss stays near $\log 2 \approx 0.693$ and the
# gradients are tiny — with the default initialization each narrow layer shrinks the
# signal, the units die or saturate, and almost no gradient reaches the early layers.
# With BatchNorm after the first and last hidden ReLU the same network learns: its training
# accuracy climbs to 0.95 or more during training (to 1.0 in most runs) and its held-out
# accuracy ends above chance (0.55 or more; how far varies from run to run). Normalizing the
# activations keeps them at a usable scale whatever the weights do, so gradients keep
# flowing and the optimizer can make progress. Where it *ends* varies much more: once the
# training loss is tiny, Adam (lr 0.01) takes in some runs a step far too large — the loss
# jumps by orders of magnitude, accuracy drops, and it climbs back over the next tens of
# epochs. Whether the 400 epochs end just after such a spike or long
# after it decides the final training accuracy, which is why it differs between computers
# while the peak does not.
#
# **Rubric.** 1 point: deep plain network stuck at chance, linked to vanishing signal /
# gradients. 1 point: BatchNorm makes it learn (training accuracy reaching ≥ 0.95 at some
# point), with the normalization mechanism. Accept a final training accuracy below the peak
# read as a loss spike; the spike is a bonus, not required. Do not require a particular
# final or held-out accuracy for 3.13: they vary between runs and machines.

# %% [markdown]
# ## Residual networks
#
# A residual block computes $x + f(x)$: the layers $f$ learn a *correction* to their input.
# Question 3.E asks what that changes in training.
#
# Tasks 3.15–3.18 train for 300 epochs each.
#
# ### Task 3.14 — ResidualSequence (3 points)
#
# `ResidualSequence` is an `nn.Sequential` whose layers form $f$. Write its `forward` so it
# returns $f(x) + x$ (`super().forward(x)` runs the layers in order).

# %% answer="residual_sequence"
class ResidualSequence(nn.Sequential):
    """A Sequential f whose forward returns f(x) + x (f must keep x's shape)."""

    def forward(self, x):
        ### BEGIN SOLUTION
        return super().forward(x) + x
        ### END SOLUTION


# %% test="residual_sequence__adds_input" points=2
# Check that ResidualSequence returns f(x) + x.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_residual_sequence__adds_input(ResidualSequence)
### END HIDDEN TESTS
hw2checks.check_residual_sequence__adds_input(ResidualSequence)

# %% test="residual_sequence__is_sequential" points=1
# Check that ResidualSequence still registers its layers and passes gradients through the skip.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_residual_sequence__is_sequential(ResidualSequence)
### END HIDDEN TESTS
hw2checks.check_residual_sequence__is_sequential(ResidualSequence)

# %% [markdown]
# ### Task 3.15 — Four residual blocks (1 point)
#
# `net_3_15`: Linear(36→16); then 4 residual blocks, each
# `ResidualSequence(ReLU, Linear(16→32), ReLU, Linear(32→16))`; then Linear(16→1), Sigmoid
# (4,897 parameters).

# %% answer="net_3_15"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_15 = nn.Sequential(
    nn.Linear(36, 16),
    *[ResidualSequence(nn.ReLU(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))
      for _ in range(4)],
    nn.Linear(16, 1), nn.Sigmoid())
loss_3_15 = nn.BCELoss()
optmaker_3_15 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_15__architecture" points=1
# Check that net_3_15 has the layers Task 3.15 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.15", net_3_15)
### END HIDDEN TESTS
hw2checks.check_architecture("3.15", net_3_15)

# %%
history_3_15 = run_test(Supervise(loss_3_15, net_3_15), optmaker_3_15, epochs=300)

# %% [markdown]
# ### Task 3.16 — Two residual blocks (1 point)
#
# `net_3_16`: as 3.15 with 2 residual blocks (2,753 parameters).

# %% answer="net_3_16"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_16 = nn.Sequential(
    nn.Linear(36, 16),
    *[ResidualSequence(nn.ReLU(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))
      for _ in range(2)],
    nn.Linear(16, 1), nn.Sigmoid())
loss_3_16 = nn.BCELoss()
optmaker_3_16 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_16__architecture" points=1
# Check that net_3_16 has the layers Task 3.16 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.16", net_3_16)
### END HIDDEN TESTS
hw2checks.check_architecture("3.16", net_3_16)

# %%
history_3_16 = run_test(Supervise(loss_3_16, net_3_16), optmaker_3_16, epochs=300)

# %% [markdown]
# ### Task 3.17 — Residual blocks with BatchNorm (1 point)
#
# `net_3_17`: Linear(36→16); then 2 residual blocks, each
# `ResidualSequence(BatchNorm1d(16), Linear(16→32), ReLU, Linear(32→16))`; then
# BatchNorm1d(16), Linear(16→1), Sigmoid (2,849 parameters).

# %% answer="net_3_17"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_17 = nn.Sequential(
    nn.Linear(36, 16),
    *[ResidualSequence(nn.BatchNorm1d(16), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))
      for _ in range(2)],
    nn.BatchNorm1d(16), nn.Linear(16, 1), nn.Sigmoid())
loss_3_17 = nn.BCELoss()
optmaker_3_17 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_17__architecture" points=1
# Check that net_3_17 has the layers Task 3.17 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.17", net_3_17)
### END HIDDEN TESTS
hw2checks.check_architecture("3.17", net_3_17)

# %%
history_3_17 = run_test(Supervise(loss_3_17, net_3_17), optmaker_3_17, epochs=300)

# %% [markdown]
# ### Task 3.18 — Six residual blocks with BatchNorm (1 point)
#
# `net_3_18`: as 3.17 with **six** residual blocks (7,265 parameters) — deeper than the
# six-layer network of 3.12.

# %% answer="net_3_18"
hw2utils.set_seed(SEED)
### BEGIN SOLUTION
net_3_18 = nn.Sequential(
    nn.Linear(36, 16),
    *[ResidualSequence(nn.BatchNorm1d(16), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))
      for _ in range(6)],
    nn.BatchNorm1d(16), nn.Linear(16, 1), nn.Sigmoid())
loss_3_18 = nn.BCELoss()
optmaker_3_18 = lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
### END SOLUTION

# %% test="net_3_18__architecture" points=1
# Check that net_3_18 has the layers Task 3.18 asks for.
### BEGIN HIDDEN TESTS
import autograder.checks.part3 as _hidden; _hidden.check_architecture("3.18", net_3_18)
### END HIDDEN TESTS
hw2checks.check_architecture("3.18", net_3_18)

# %%
history_3_18 = run_test(Supervise(loss_3_18, net_3_18), optmaker_3_18, epochs=300)

# %% [markdown]
# **3.E (2 points).** The network of 3.18 has more layers than the one of 3.12, yet it
# trains. Compare them (and 3.17) — the best held-out accuracy each reached (the progress
# bar's "best", or `max(history_3_17.val_accs)`) as well as where it ended — and explain what
# the residual connections and BatchNorm each contribute.

# %% [markdown] manual="q_residual" points=2
# **Model answer.** The residual networks with BatchNorm learn the rule during their 300
# epochs: with six blocks the held-out accuracy reaches 0.95 or more, with two 0.85 or more
# (0.98 or more in most runs), while the plain six-layer network of 3.12 stays at chance. (In some runs a loss spike, as in 3.13, pulls one of them
# back down before the last epoch; the best value shows what it learned.) The skip connections give every block an identity path:
# the signal reaches the output and the gradient reaches the first layer even when a block's
# layers contribute little, so adding blocks does not starve the early layers of gradient.
# BatchNorm keeps each block's input at a steady scale, so the blocks' corrections stay well
# conditioned as depth grows.
#
# **Rubric.** 1 point: the comparison (residual + BatchNorm learns it at both depths, plain
# deep network does not; read from the best held-out accuracy — accept a final value pulled
# down by a spike). 1 point: the gradient / identity-path explanation (BatchNorm's
# role is a bonus). Do not grade on 3.15 vs 3.16: without BatchNorm their order varies
# between runs.

# %% [markdown]
# ## Sources
#
# List anyone and anything that helped you (classmates, web pages, AI tools) and how.
# Write "none" if nothing did.
