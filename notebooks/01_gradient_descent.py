# %% [markdown]
# # HW2 Part 1 — Gradient descent and weight decay (20 points)
#
# In this part you write gradient descent by hand on a two-dimensional loss, see why one
# learning rate cannot suit every direction, and turn your loop into a PyTorch-style
# optimizer with weight decay.
#
# **How this notebook works.** Write your code where it says `YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and your answers where it says `YOUR ANSWER HERE`.
# Each task is followed by a cell that starts with *"Check that …"*: run it. It tries your
# code on a few fixed cases and prints one line when they pass; the grader runs more cases
# of the same kind. Before you submit, use *Restart kernel and run all cells* and check
# that every cell runs. Do not rename this file (in Colab: do not keep the "Copy of" prefix).
#
# **Credit.** If you used help — classmates, web pages, AI tools — say which and for what
# in the last cell.

# %%
# @SETUP@

# %%
import torch

import hw2checks
import hw2utils
from hw2utils import BOWL_START, LossFunctionWithPlot

hw2utils.set_seed(0)

# %% [markdown]
# ## The bowl
#
# All of Parts 1 and 2 minimise the same function of a point $x \in \mathbb{R}^2$:
#
# $$\mathcal{L}(x) = \lVert B x \rVert_2, \qquad B = \begin{bmatrix} 2.3 & -0.3 \\ -0.5 & 0.2 \end{bmatrix}.$$
#
# Its minimum is $\mathcal{L}(0) = 0$. Its level sets are long thin ellipses: the loss
# changes fast along $x_0$ (high curvature) and slowly along $x_1$ (low curvature).
# `LossFunctionWithPlot()` computes $\mathcal{L}$ and remembers every point it was called
# with, so `plot_history()` can draw the path afterwards.
#
# One property matters later: $\mathcal{L}$ is a norm, not a squared norm, so its gradient
# $\nabla\mathcal{L}(x) = B^\top B x / \lVert Bx \rVert$ has roughly the same size however
# close $x$ is to the minimum. A fixed step therefore never settles exactly at the bottom:
# it keeps jumping across it.

# %%
L = LossFunctionWithPlot()
print(f"L(x0) = {L(torch.tensor(BOWL_START)).item():.3f} at x0 = {BOWL_START}")

# %% [markdown]
# ## Task 1.1 — Gradient descent by hand (5 points)
#
# Gradient descent repeats
#
# $$x \leftarrow x - \nu \, \nabla \mathcal{L}(x)$$
#
# with learning rate $\nu$. Write `descend(loss_fn, x, lr, steps)`, which runs `steps` steps of
# it starting from `x`, a leaf tensor with `requires_grad=True`, and returns `x`. In each step:
#
# 1. compute `loss = loss_fn(x)` and call `loss.backward()`, which stores $\nabla\mathcal{L}(x)$ in `x.grad`;
# 2. update `x` **in place** (`x -= ...`) inside `with torch.no_grad():` — otherwise autograd
#    would record the update itself as part of the next loss;
# 3. clear the gradient (`x.grad = None`): `backward()` *adds* to `x.grad`, so a stale
#    gradient would be added to the next one.
#
# `lr` may be a number or a tensor with one rate per coordinate (Task 1.2 needs that;
# `lr * x.grad` handles both).

# %% answer="gd_loop"
def descend(loss_fn, x, lr, steps):
    """Run `steps` steps of gradient descent on `loss_fn` from the leaf tensor `x`, in place; return `x`."""
    ### BEGIN SOLUTION
    for _ in range(steps):
        loss_fn(x).backward()
        with torch.no_grad():
            x -= lr * x.grad
        x.grad = None
    return x
    ### END SOLUTION


# %% test="gd_loop__matches_reference" points=3
# Check that descend visits the same points as torch.optim.SGD on a few bowls.
### BEGIN HIDDEN TESTS
import autograder.checks.part1 as _hidden; _hidden.check_gd_loop__matches_reference(descend)
### END HIDDEN TESTS
hw2checks.check_gd_loop__matches_reference(descend)

# %% test="gd_loop__in_place" points=1
# Check that descend updates x in place and leaves no gradient behind.
### BEGIN HIDDEN TESTS
import autograder.checks.part1 as _hidden; _hidden.check_gd_loop__in_place(descend)
### END HIDDEN TESTS
hw2checks.check_gd_loop__in_place(descend)

# %% test="gd_loop__tensor_lr" points=1
# Check that descend accepts one learning rate per coordinate.
### BEGIN HIDDEN TESTS
import autograder.checks.part1 as _hidden; _hidden.check_gd_loop__tensor_lr(descend)
### END HIDDEN TESTS
hw2checks.check_gd_loop__tensor_lr(descend)

# %% [markdown]
# Now watch it: 50 steps with learning rate 0.1 from $x_0$. The loss first drops, then
# jumps back up and stalls; the path zig-zags across the steep direction while it creeps
# along the shallow one.

# %%
L = LossFunctionWithPlot()
descend(L, torch.tensor(BOWL_START, requires_grad=True), lr=0.1, steps=50)
for step in range(0, 50, 7):
    print(f"loss at step {step:2d}: {L.losses[step]:.3f}")
L.plot_history()

# %% [markdown]
# ## Task 1.2 — One learning rate per coordinate (2 points)
#
# A rate small enough for the steep $x_0$ is too small for the shallow $x_1$. Give each
# coordinate its own rate: `lr_pair = torch.tensor([rate_for_x0, rate_for_x1])`.
#
# Find a pair whose loss after 50 steps from $x_0$ is **below 0.05**. For comparison, the
# best single learning rate ends 50 steps at about 0.105. `hw2checks.final_loss_with(lr)`
# returns the loss after 50 steps for a rate or a pair, so you can try a small grid of
# pairs in a loop. Even the best pair keeps oscillating a little, because the gradient of a
# norm does not shrink near the minimum — Part 2 is about optimizers that adapt their steps.

# %% answer="per_dim_lr"
### BEGIN SOLUTION
lr_pair = torch.tensor([0.034, 1.0])
### END SOLUTION
print(f"final loss with lr_pair = {lr_pair.tolist()}: {hw2checks.final_loss_with(lr_pair):.4f}")
L = LossFunctionWithPlot()
descend(L, torch.tensor(BOWL_START, requires_grad=True), lr=lr_pair, steps=50)
L.plot_history()

# %% test="per_dim_lr__beats_single_lr" points=2
# Check that lr_pair ends 50 steps below 0.05.
### BEGIN HIDDEN TESTS
import autograder.checks.part1 as _hidden; _hidden.check_per_dim_lr__beats_single_lr(lr_pair)
### END HIDDEN TESTS
hw2checks.check_per_dim_lr__beats_single_lr(lr_pair)

# %% [markdown]
# ## Questions 1.A–1.C — Choosing a learning rate (3 points)
#
# Answer each in two or three sentences, using what you saw above (try a few rates with
# `final_loss_with` and `plot_history` if it helps).
#
# **1.A (1 point).** What goes wrong when the learning rate is too high?

# %% [markdown] manual="q_lr_high" points=1
# **Model answer.** Each step overshoots the minimum along steep directions: the iterate
# jumps from one side of the valley to the other (zig-zag path, sawtooth loss), the loss can
# go back up, and if the rate is high enough the jumps grow and the iterates diverge.
#
# **Rubric.** 1 point: overshooting / oscillation or divergence, tied to step size. 0.5: says
# only "unstable" or "does not converge" without the mechanism.

# %% [markdown]
# **1.B (1 point).** What goes wrong when the learning rate is too low?

# %% [markdown] manual="q_lr_low" points=1
# **Model answer.** Steps are tiny, so progress is slow: within a fixed budget of steps the
# loss is still high, especially along shallow directions where the gradient is small
# (here $x_1$). Training wastes time, and can stall on plateaus.
#
# **Rubric.** 1 point: slow convergence / too little progress in the step budget. 0 for
# "gets stuck in a local minimum" alone (this bowl has a single minimum).

# %% [markdown]
# **1.C (1 point).** Along a coordinate with higher curvature (the loss changes faster),
# should the learning rate be higher or lower? Why?

# %% [markdown] manual="q_curvature" points=1
# **Model answer.** Lower. With high curvature the gradient changes a lot over a short
# distance, so a large step overshoots the minimum along that coordinate; low-curvature
# coordinates tolerate (and need) larger steps. In Task 1.2 the good pairs have a much
# smaller rate for $x_0$ than for $x_1$.
#
# **Rubric.** 1 point: "lower" with the overshooting reason. 0.5: "lower" without reason.
# 0 for "higher", or for reasons about overfitting (curvature of the loss surface is an
# optimization matter, not a generalization one).

# %% [markdown]
# ## Weight decay
#
# Weight decay (L2 regularization) adds a penalty on the size of the parameters $\theta$:
#
# $$\mathcal{L}(\theta) = \mathcal{L}_{\text{obj}}(\theta) + \frac{\lambda}{2}\lVert\theta\rVert^2 ,$$
#
# where $\lambda \ge 0$ is the `weight_decay` hyperparameter. This is PyTorch's convention:
# `torch.optim.SGD(params, lr, weight_decay=λ)` optimizes exactly this $\mathcal{L}$.
#
# **1.D (2 points).** Write $\nabla\mathcal{L}(\theta)$ in terms of $\nabla\mathcal{L}_{\text{obj}}(\theta)$ and $\theta$.

# %% [markdown] manual="q_wd_gradient" points=2
# **Model answer.** $\nabla\mathcal{L}(\theta) = \nabla\mathcal{L}_{\text{obj}}(\theta) + \lambda\,\theta$
# (the derivative of $\frac{\lambda}{2}\lVert\theta\rVert^2 = \frac{\lambda}{2}\sum_i\theta_i^2$ is $\lambda\theta$).
#
# **Rubric.** 2 points: correct expression. 1 point: a factor error ($2\lambda\theta$ or
# $\frac{\lambda}{2}\theta$) with the right structure. 0: $\lambda\lvert\theta\rvert$ or no $\theta$ term.

# %% [markdown]
# **1.E (2 points).** With learning rate $\nu$, write one gradient-descent step on
# $\mathcal{L}$ as an update of $\theta$, and rewrite it to show why it is called *decay*.

# %% [markdown] manual="q_wd_update" points=2
# **Model answer.** $\theta \leftarrow \theta - \nu\big(\nabla\mathcal{L}_{\text{obj}}(\theta) + \lambda\theta\big)
# = (1 - \nu\lambda)\,\theta - \nu\,\nabla\mathcal{L}_{\text{obj}}(\theta)$: before the
# usual step, every parameter shrinks by the factor $1 - \nu\lambda$.
#
# **Rubric.** 1 point: the update with the full gradient scaled by $\nu$. 1 point: the
# factored form and the "shrinks each step" reading. No credit for $(1-\lambda)\theta$
# (the learning rate must scale the decay too).

# %% [markdown]
# ## Task 1.3 — A PyTorch-style optimizer (6 points)
#
# PyTorch packages update rules as optimizer objects: the constructor receives the
# parameters (often the generator `net.parameters()`, which can be read only once, so store
# them in a list), `step()` updates every parameter in place from its `.grad`, and
# `zero_grad()` clears the gradients.
#
# Write `SimpleGradientDescent(parameters, lr=0.1, weight_decay=0.0)` whose `step()` does one
# gradient-descent step on $\mathcal{L}$ above, with $\lambda$ = `weight_decay` (your answer
# to 1.E). It must produce exactly what `torch.optim.SGD(parameters, lr=lr,
# weight_decay=weight_decay)` produces, step for step — but write the update yourself:
# using `torch.optim` inside your class scores zero.

# %% answer="sgd_optimizer"
class SimpleGradientDescent:
    """Gradient descent on L(p) = L_obj(p) + weight_decay / 2 * ||p||² (the step of your 1.E)."""

    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        self.lr = lr
        self.weight_decay = weight_decay
        ### BEGIN SOLUTION
        self.parameters = list(parameters)
        ### END SOLUTION

    def step(self):
        ### BEGIN SOLUTION
        with torch.no_grad():
            for p in self.parameters:
                if p.grad is not None:
                    p -= self.lr * (p.grad + self.weight_decay * p)
        ### END SOLUTION

    def zero_grad(self):
        ### BEGIN SOLUTION
        for p in self.parameters:
            p.grad = None
        ### END SOLUTION


# %% test="sgd_optimizer__matches_torch" points=3
# Check that SimpleGradientDescent without weight decay equals torch.optim.SGD.
### BEGIN HIDDEN TESTS
import autograder.checks.part1 as _hidden; _hidden.check_sgd_optimizer__matches_torch(SimpleGradientDescent)
### END HIDDEN TESTS
hw2checks.check_sgd_optimizer__matches_torch(SimpleGradientDescent)

# %% test="sgd_optimizer__weight_decay" points=2
# Check that SimpleGradientDescent with weight decay equals torch.optim.SGD(weight_decay=...).
### BEGIN HIDDEN TESTS
import autograder.checks.part1 as _hidden; _hidden.check_sgd_optimizer__weight_decay(SimpleGradientDescent)
### END HIDDEN TESTS
hw2checks.check_sgd_optimizer__weight_decay(SimpleGradientDescent)

# %% test="sgd_optimizer__zero_grad" points=1
# Check that zero_grad clears every gradient.
### BEGIN HIDDEN TESTS
import autograder.checks.part1 as _hidden; _hidden.check_sgd_optimizer__zero_grad(SimpleGradientDescent)
### END HIDDEN TESTS
hw2checks.check_sgd_optimizer__zero_grad(SimpleGradientDescent)

# %% [markdown]
# Your optimizer on the bowl, with a little weight decay. `ConstantVectorNetwork` wraps the
# two coordinates as parameters, the way a network's weights are, so the optimizer sees
# only `.parameters()`. Weight decay pulls $x$ towards 0 — here, the minimum — but it also
# changes the function being minimized, so on a real problem its minimum moves.

# %%
net = hw2utils.ConstantVectorNetwork(*BOWL_START)
optimizer = SimpleGradientDescent(net.parameters(), lr=0.1, weight_decay=1e-3)
L = LossFunctionWithPlot()
for step in range(50):
    optimizer.zero_grad()
    loss = L(net())
    loss.backward()
    optimizer.step()
    if step % 7 == 0:
        print(f"loss at step {step:2d}: {loss.item():.3f}")
L.plot_history()

# %% [markdown]
# ## Sources
#
# List anyone and anything that helped you (classmates, web pages, AI tools) and how.
# Write "none" if nothing did.
