# %% [markdown]
# # HW2 Part 2 — Gradient statistics, moving averages and Adam (25 points)
#
# In Part 1, gradient descent on the bowl stalled. In this part you measure what the gradient
# did along the way, build the exponential moving average (EMA) that optimizers use to follow
# such statistics while they run, and write the Adam optimizer on top of it.
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
import matplotlib.pyplot as plt
import torch

import hw2checks
import hw2utils
from hw2utils import BOWL_START, ConstantVectorNetwork, LossFunctionWithPlot

hw2utils.set_seed(0)

# %% [markdown]
# ## What the gradient did in Part 1
#
# With learning rate 0.1, gradient descent from $x_0 = (-1.5, 1.2)$ on the bowl
# $\mathcal{L}(x) = \lVert Bx \rVert$ brought the loss down quickly, then bounced back up and
# stalled around 0.28. To see why, record the gradient $g_t = \nabla\mathcal{L}(x_t)$ at each
# of the $T = 50$ steps and summarize each coordinate $i$ with two numbers:
#
# $$\text{mean}_i = \frac{1}{T}\sum_{t=1}^{T} g_{t,i},
# \qquad
# \text{RMS}_i = \sqrt{\frac{1}{T}\sum_{t=1}^{T} g_{t,i}^2}.$$
#
# The mean keeps the sign of each gradient, so positive and negative values cancel. The RMS
# (*root mean square*) squares each value first, which removes the sign, averages the squares,
# and then takes the square root to return to the gradient's units. Mind the order — square,
# **mean**, root: $\sqrt{\sum_t g_{t,i}^2}\,/\,T$ is a different number (it equals
# $\text{RMS}_i / \sqrt{T}$).
#
# ## Task 2.1 — Mean and RMS of the gradient (3 points)
#
# Write `gradient_stats(grads)`. `grads` is a tensor of shape `(T, d)` whose row `t` is the
# gradient at step `t`. Return the pair `(mean, rms)`: two tensors of shape `(d,)`, one value
# per coordinate, computed over the steps (dimension 0). Do not modify `grads`. Useful tensor
# methods: `.mean(dim=0)`, `** 2`, `.sqrt()`.

# %% answer="grad_stats"
def gradient_stats(grads):
    """Per-coordinate mean and root-mean-square of gradients stacked as rows: (T, d) -> ((d,), (d,))."""
    ### BEGIN SOLUTION
    mean = grads.mean(dim=0)
    rms = (grads ** 2).mean(dim=0).sqrt()
    return mean, rms
    ### END SOLUTION


# %% test="grad_stats__values" points=2
# Check that gradient_stats returns the mean and the RMS of each coordinate on a few fixed cases.
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_grad_stats__values(gradient_stats)
### END HIDDEN TESTS
hw2checks.check_grad_stats__values(gradient_stats)

# %% test="grad_stats__shapes" points=1
# Check that gradient_stats returns two tensors of shape (d,) for gradients of shape (T, d).
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_grad_stats__shapes(gradient_stats)
### END HIDDEN TESTS
hw2checks.check_grad_stats__shapes(gradient_stats)

# %% [markdown]
# The cell below repeats Part 1's run — 50 steps of `torch.optim.SGD` with learning rate 0.1
# from $x_0$ — and keeps a copy of the gradient of each step before the update. Then it prints
# your statistics and plots the path, the loss and, for each coordinate, the gradient per step
# with a solid line at its mean and dashed lines at ± its RMS.
#
# What to look for. For the first seven steps each coordinate's gradient keeps its sign, and
# the path heads steadily downhill. From about step 11 on, both gradients flip sign at every
# step: $x$ is jumping from one side of the narrow valley to the other, and the steps along
# $x_1$ (the direction that leads to the minimum) cancel out. Over the whole run the mean of
# $\partial\mathcal{L}/\partial x_0$ is small (about −0.3) while its RMS is large (about 2.1):
# big steps that mostly undo each other.

# %%
x = torch.tensor(BOWL_START, requires_grad=True)
L = LossFunctionWithPlot()
optimizer = torch.optim.SGD([x], lr=0.1)
recorded = []
for step in range(50):
    optimizer.zero_grad()
    L(x).backward()
    recorded.append(x.grad.clone())
    optimizer.step()
grads = torch.stack(recorded)  # shape (50, 2): one row per step
mean_grads, rms_grads = gradient_stats(grads)
print(f"mean gradient: ({mean_grads[0]:.4f}, {mean_grads[1]:.4f})")
print(f"RMS gradient:  ({rms_grads[0]:.4f}, {rms_grads[1]:.4f})")
L.plot_history(grads=grads, mean_grads=mean_grads, rms_grads=rms_grads)

# %% [markdown]
# ## Questions 2.A–2.B — The numbers (2 points)
#
# Copy the values printed above, to 4 decimals, as pairs `(value for x[0], value for x[1])`.
# The grader computes them itself and accepts your numbers within 0.001 of the true ones.
#
# **2.A (1 point).** The mean gradient: `mean_grad_values = (..., ...)`.

# %% answer="q_mean_values"
### BEGIN SOLUTION
mean_grad_values = (-0.2982, 0.0940)
### END SOLUTION

# %% test="q_mean_values__numbers" points=1
# Check that mean_grad_values holds two numbers (the grader checks their values).
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_q_mean_values__numbers(mean_grad_values)
### END HIDDEN TESTS
hw2checks.check_q_mean_values__numbers(mean_grad_values)

# %% [markdown]
# **2.B (1 point).** The RMS gradient: `rms_grad_values = (..., ...)`.

# %% answer="q_rms_values"
### BEGIN SOLUTION
rms_grad_values = (2.1092, 0.3078)
### END SOLUTION

# %% test="q_rms_values__numbers" points=1
# Check that rms_grad_values holds two non-negative numbers (the grader checks their values).
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_q_rms_values__numbers(rms_grad_values)
### END HIDDEN TESTS
hw2checks.check_q_rms_values__numbers(rms_grad_values)

# %% [markdown]
# ## Question 2.C — Mean versus RMS (4 points)
#
# Compare the size of the mean, $\lvert\text{mean}\rvert$, with the RMS of the same list of
# numbers. Answer each question by setting its variable to one of the two strings allowed
# (1 point each). The check cells below only test that each answer is one of the allowed
# strings; the grader tests whether it is right.
#
# | variable | question | allowed answers |
# |---|---|---|
# | `never_smaller` | Which of the two is never smaller than the other? | `"mean"` or `"RMS"` |
# | `typical_size` | Which of the two tells how large the values typically are, whatever their sign? | `"mean"` or `"RMS"` |
# | `consistent_sign` | When the values all have the same sign, is $\lvert\text{mean}\rvert$ close to the RMS or much smaller than it? | `"close"` or `"much smaller"` |
# | `sign_changes` | When the values change sign often, is $\lvert\text{mean}\rvert$ close to the RMS or much smaller than it? | `"close"` or `"much smaller"` |
#
# For example: `never_smaller = "mean"` (this one is not necessarily right).

# %% answer="q_mean_vs_rms"
### BEGIN SOLUTION
never_smaller = "RMS"
typical_size = "RMS"
consistent_sign = "close"
sign_changes = "much smaller"
### END SOLUTION

# %% test="q_mean_vs_rms__never_smaller" points=1
# Check that never_smaller is "mean" or "RMS".
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_q_mean_vs_rms__never_smaller(never_smaller)
### END HIDDEN TESTS
hw2checks.check_q_mean_vs_rms__never_smaller(never_smaller)

# %% test="q_mean_vs_rms__typical_size" points=1
# Check that typical_size is "mean" or "RMS".
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_q_mean_vs_rms__typical_size(typical_size)
### END HIDDEN TESTS
hw2checks.check_q_mean_vs_rms__typical_size(typical_size)

# %% test="q_mean_vs_rms__consistent_sign" points=1
# Check that consistent_sign is "close" or "much smaller".
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_q_mean_vs_rms__consistent_sign(consistent_sign)
### END HIDDEN TESTS
hw2checks.check_q_mean_vs_rms__consistent_sign(consistent_sign)

# %% test="q_mean_vs_rms__sign_changes" points=1
# Check that sign_changes is "close" or "much smaller".
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_q_mean_vs_rms__sign_changes(sign_changes)
### END HIDDEN TESTS
hw2checks.check_q_mean_vs_rms__sign_changes(sign_changes)

# %% [markdown]
# ## The idea behind Adam
#
# We would like an optimizer that takes **smaller** steps along a coordinate whose gradient
# keeps changing sign (it is jumping across a valley, like $x_0$ above) and keeps taking
# **reasonably large** steps along a coordinate whose gradient is small but steady (like
# $x_1$). The ratio of the two statistics does exactly that. Adam's step for each coordinate
# is, in spirit,
#
# $$\Delta x_i = -\alpha\,\frac{\text{mean of the recent } g_i}{\text{RMS of the recent } g_i}.$$
#
# When the recent gradients agree, the ratio is close to ±1 and the step is about $\alpha$.
# When they keep changing sign, the mean is much smaller than the RMS, and so is the step.
#
# **2.D (2 points).** Suppose every gradient is multiplied by the same constant $K > 0$ (for
# example, because the loss is multiplied by $K$): $\hat g_t = K g_t$. Is the step
# $\Delta\hat x$ larger than, smaller than, or equal to $\Delta x$? Show why with the formula,
# and say in one sentence why this property is useful.

# %% [markdown] manual="q_scale_invariance" points=2
# **Model answer.** Equal. The mean scales by $K$: $\frac1T\sum_t K g_t = K\cdot\text{mean}$.
# The RMS scales by $K$ too: $\sqrt{\frac1T\sum_t (K g_t)^2} = \sqrt{K^2}\sqrt{\frac1T\sum_t g_t^2}
# = K\cdot\text{RMS}$ (for $K>0$). The $K$s cancel in the ratio, so $\Delta\hat x = \Delta x$
# (the same holds for weighted averages, as in Adam). Useful because the size of a step is set
# by the learning rate $\alpha$, in units of the parameters, and not by the scale of the
# gradient: the optimizer does not rush where gradients are large or crawl where they are
# small, and the same learning rate works whatever the scale of the loss. (With Adam's
# $\epsilon$ in the denominator this holds as long as the RMS is much larger than $\epsilon$.)
#
# **Rubric.** 1 point: "equal", shown by the factor $K$ appearing in both the mean and the RMS
# and cancelling. 1 point: the consequence (step size independent of the gradient's scale,
# not too fast for large gradients nor too slow for small ones). 0 for "larger" or "K times
# larger". Full credit also for a correct treatment of $K<0$ (the RMS scales by $\lvert K\rvert$,
# the step keeps its size and follows the sign of the gradient).

# %% [markdown]
# ## Exponential moving averages
#
# During training the gradient statistics change, so Adam does not average over all past
# steps; it uses averages that gradually forget the past. The **exponential moving average**
# of a series $x_1, x_2, \dots$ with weight $\beta \in [0, 1)$ is kept in one number,
# $\text{EMA}^*$, updated at every step $t = 1, 2, \dots$:
#
# $$\text{EMA}^*_0 = 0, \qquad \text{EMA}^*_t = \beta\,\text{EMA}^*_{t-1} + (1-\beta)\,x_t .$$
#
# Unrolled, $\text{EMA}^*_t = (1-\beta)\sum_{i=1}^{t}\beta^{\,t-i}\,x_i$: a value $k$ steps old
# has weight $(1-\beta)\beta^k$, which shrinks geometrically, so the EMA mostly averages the
# last $1/(1-\beta)$ values or so (10 for $\beta = 0.9$, 1000 for $\beta = 0.999$).
#
# **The bias at the start.** These weights add up to $(1-\beta)(1 + \beta + \dots + \beta^{t-1})
# = 1-\beta^t$, not 1, because the average started from $\text{EMA}^*_0 = 0$. Early on
# $\text{EMA}^*$ is therefore pulled towards 0: with $\beta = 0.9$, $\text{EMA}^*_1 = 0.1\,x_1$.
# Dividing by the total weight removes this bias:
#
# $$\text{EMA}_t = \frac{\text{EMA}^*_t}{1-\beta^{t}} .$$
#
# At $t = 1$ this gives exactly $x_1$; as $t$ grows, $\beta^t \to 0$ and the two agree.
#
# Conventions, the same as PyTorch's Adam: the new value gets the weight $1-\beta$ (so $\beta$
# close to 1 means a long memory), $t$ counts from 1 (the first value is $x_1$), and
# $\text{EMA}^*_0 = 0$.
#
# ## Task 2.2 — EMA (5 points)
#
# Write `ema_update(x_t, beta, t, ema_star_old)`, one step of the EMA: from the new value
# $x_t$, the weight $\beta$, the step number $t$ and $\text{EMA}^*_{t-1}$, return the pair
# `(ema, ema_star_t)` $= (\text{EMA}_t, \text{EMA}^*_t)$, in this order.
#
# It must work when `x_t` and `ema_star_old` are Python numbers, and when they are tensors of
# any shape (the same shape for both; at the first step `ema_star_old` may also be the number
# `0.0`). Adam will call it with gradient tensors, so it must not modify its inputs: compute
# new values (`beta * ema_star_old + ...`) rather than using in-place operations such as `*=`.

# %% answer="ema_update"
def ema_update(x_t, beta, t, ema_star_old):
    """One EMA step, t counting from 1: returns (EMA_t, EMA*_t), where
    EMA*_t = beta * EMA*_{t-1} + (1 - beta) * x_t and EMA_t = EMA*_t / (1 - beta ** t)."""
    ### BEGIN SOLUTION
    ema_star_t = beta * ema_star_old + (1 - beta) * x_t
    ema = ema_star_t / (1 - beta ** t)
    return ema, ema_star_t
    ### END SOLUTION


# %% test="ema_update__formula" points=2
# Check that ema_update computes EMA*_t (its second output) on a few fixed cases.
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_ema_update__formula(ema_update)
### END HIDDEN TESTS
hw2checks.check_ema_update__formula(ema_update)

# %% test="ema_update__bias_correction" points=2
# Check that ema_update returns the bias-corrected EMA_t (its first output) on a few fixed cases.
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_ema_update__bias_correction(ema_update)
### END HIDDEN TESTS
hw2checks.check_ema_update__bias_correction(ema_update)

# %% test="ema_update__tensors_unchanged" points=1
# Check that ema_update works on tensors and leaves its inputs unchanged.
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_ema_update__tensors_unchanged(ema_update)
### END HIDDEN TESTS
hw2checks.check_ema_update__tensors_unchanged(ema_update)

# %% [markdown]
# Now watch an EMA follow a series. The series below has 200 noisy values: around 3 for the
# first 100 steps, then around −1. The plot shows the values, their running mean (the plain
# average of all values so far), and the EMA and $\text{EMA}^*$ with $\beta = 0.9$.
#
# What to look for. (1) The running mean weighs the first 100 values as much as the recent
# ones, so after the jump it drifts down slowly and is still far from −1 at the end. (2) The
# EMA follows the jump within about $1/(1-\beta) = 10$ to 20 steps and then stays near the new
# level; it is noisier than the running mean because it averages only about the last 10
# values. (3) At the start $\text{EMA}^*$ begins near 0 and takes about 20 steps to climb to
# 3: that is the bias towards $\text{EMA}^*_0 = 0$. The corrected EMA starts at $x_1$ and has
# no such lag; once $\beta^t$ is negligible the two curves coincide.

# %%
hw2utils.set_seed(1)
series = torch.cat([3.0 + 0.3 * torch.randn(100), -1.0 + torch.randn(100)])
running_mean = series.cumsum(0) / torch.arange(1, len(series) + 1)
ema_star, emas, ema_stars = 0.0, [], []
for step, value in enumerate(series.tolist(), start=1):
    ema, ema_star = ema_update(value, 0.9, step, ema_star)
    emas.append(ema)
    ema_stars.append(ema_star)

fig, ax = plt.subplots(figsize=(9, 4))
steps = range(1, len(series) + 1)
ax.plot(steps, series, ".", color="tab:gray", markersize=4, label="values $x_t$")
ax.plot(steps, running_mean, color="tab:purple", label="running mean")
ax.plot(steps, emas, color="tab:blue", label="EMA (bias-corrected)")
ax.plot(steps, ema_stars, "--", color="tab:orange", label="EMA* (not corrected)")
ax.set(xlabel="step t", ylabel="value", title="Exponential moving average, beta = 0.9")
ax.legend(loc="upper right", fontsize="small")
plt.show()

# %% [markdown]
# ## Task 2.3 — The Adam optimizer (9 points)
#
# Adam (Kingma and Ba, 2015) puts the two ideas together. For every parameter $\theta$
# (every coordinate separately) it keeps an EMA of the gradient, $m$, and an EMA of the
# squared gradient, $v$; $\sqrt{v}$ is then a moving RMS. Step $t$ (counting from 1) is:
#
# $$\begin{aligned}
# g_t &= \nabla\mathcal{L}(\theta)
#   && \text{gradient of } \mathcal{L} = \mathcal{L}_{\text{obj}} + \tfrac{\lambda}{2}\lVert\theta\rVert^2 \text{ (your answer to 1.D)}\\
# m_t,\ m^*_t &= \texttt{ema\_update}(g_t,\ \beta_1,\ t,\ m^*_{t-1})
#   && \text{moving mean of } g\\
# v_t,\ v^*_t &= \texttt{ema\_update}(g_t^2,\ \beta_2,\ t,\ v^*_{t-1})
#   && \text{moving mean of } g^2 \text{ (elementwise square)}\\
# \theta &\leftarrow \theta - \text{lr}\cdot\frac{m_t}{\sqrt{v_t}+\epsilon}
#   && \text{the update}
# \end{aligned}$$
#
# with $m^*_0 = v^*_0 = 0$. ($m_t$ and $v_t$ are the bias-corrected EMAs, written $\hat m_t$
# and $\hat v_t$ in PyTorch's documentation.) The weight decay is PyTorch's coupled L2 of Part 1:
# $g_t$ is the gradient of the whole $\mathcal{L}$, penalty included, so
# `torch.optim.Adam(params, weight_decay=λ)` follows the gradient of
# $\mathcal{L}_{\text{obj}} + \frac{\lambda}{2}\lVert\theta\rVert^2$. The small
# $\epsilon$ only prevents a division by zero; it is added **after** the square root.
#
# Write `ADAMOptimizer(parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)`
# with `step()` and `zero_grad()`, in the style of Part 1's `SimpleGradientDescent`, using your
# `ema_update`. It must produce exactly what `torch.optim.Adam` with the same arguments
# produces, step for step, but without using `torch.optim` inside. Four details matter:
#
# - **One $t$ per step.** $t$ is the number of `step()` calls so far: add 1 once at the start
#   of `step()`, before updating any parameter (so the first step uses $t = 1$). All
#   parameters share it.
# - **State per parameter.** Each parameter has its own $m^*$ and $v^*$, with the parameter's
#   shape, dtype and device: create them with `torch.zeros_like(p)` (never `torch.zeros(shape)`,
#   which makes float32 tensors on the CPU, nor `.cuda()`).
# - **State that persists.** $m^*$ and $v^*$ must survive until the next `step()`. In a loop
#   such as `for p, m_star in zip(self.parameters, self.m_star)`, writing `m_star = new` only
#   renames a local variable and the stored tensor never changes. Update the stored tensor in
#   place (`m_star.copy_(new)` or `m_star[...] = new`) or store the new one back
#   (`self.m_star[i] = new`).
# - **No graph.** Update each parameter in place (`p -= ...`) inside `with torch.no_grad():`.

# %% answer="adam_optimizer"
class ADAMOptimizer:
    """Adam with PyTorch's coupled L2 weight decay: equals torch.optim.Adam step for step."""

    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.weight_decay = weight_decay
        ### BEGIN SOLUTION
        self.parameters = list(parameters)
        self.t = 0
        self.m_star = [torch.zeros_like(p) for p in self.parameters]
        self.v_star = [torch.zeros_like(p) for p in self.parameters]
        ### END SOLUTION

    def step(self):
        ### BEGIN SOLUTION
        self.t += 1
        with torch.no_grad():
            for p, m_star, v_star in zip(self.parameters, self.m_star, self.v_star):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                m, new_m_star = ema_update(g, self.beta1, self.t, m_star)
                v, new_v_star = ema_update(g * g, self.beta2, self.t, v_star)
                m_star.copy_(new_m_star)
                v_star.copy_(new_v_star)
                p -= self.lr * m / (v.sqrt() + self.eps)
        ### END SOLUTION

    def zero_grad(self):
        ### BEGIN SOLUTION
        for p in self.parameters:
            p.grad = None
        ### END SOLUTION


# %% test="adam_optimizer__matches_torch" points=3
# Check that ADAMOptimizer without weight decay equals torch.optim.Adam.
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_adam_optimizer__matches_torch(ADAMOptimizer)
### END HIDDEN TESTS
hw2checks.check_adam_optimizer__matches_torch(ADAMOptimizer)

# %% test="adam_optimizer__weight_decay" points=2
# Check that ADAMOptimizer with weight decay follows the gradient of the decayed loss, as torch.optim.Adam does.
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_adam_optimizer__weight_decay(ADAMOptimizer)
### END HIDDEN TESTS
hw2checks.check_adam_optimizer__weight_decay(ADAMOptimizer)

# %% test="adam_optimizer__state_persists" points=2
# Check that each parameter's m* and v* carry over between steps and t advances once per step.
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_adam_optimizer__state_persists(ADAMOptimizer)
### END HIDDEN TESTS
hw2checks.check_adam_optimizer__state_persists(ADAMOptimizer)

# %% test="adam_optimizer__devices_dtypes" points=1
# Check that ADAMOptimizer works with float32 and float64 parameters on the chosen device.
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_adam_optimizer__devices_dtypes(ADAMOptimizer)
### END HIDDEN TESTS
hw2checks.check_adam_optimizer__devices_dtypes(ADAMOptimizer)

# %% test="adam_optimizer__zero_grad" points=1
# Check that zero_grad clears every gradient.
### BEGIN HIDDEN TESTS
import autograder.checks.part2 as _hidden; _hidden.check_adam_optimizer__zero_grad(ADAMOptimizer)
### END HIDDEN TESTS
hw2checks.check_adam_optimizer__zero_grad(ADAMOptimizer)

# %% [markdown]
# Your Adam on the bowl: 50 steps from $x_0$ with learning rate 0.1 and weight decay 0.1.
# `descend_with` runs any optimizer over `ConstantVectorNetwork`'s two parameters and returns
# the loss function with the recorded path.
#
# What to look for. At first the gradient is steady, so $m/\sqrt{v} \approx \pm 1$ in both
# coordinates and Adam moves both by about the learning rate per step: the path is a straight
# diagonal, and the shallow $x_1$, which plain gradient descent hardly moved, now moves as fast
# as $x_0$. The path overshoots the minimum (the moving mean $m$ keeps pushing for a few steps
# after the gradient has changed sign), comes back and swings around the minimum in shrinking
# waves — the bumps in the loss curve. Where the gradient flips sign, the mean shrinks relative
# to the RMS and so do the steps: after 50 steps the loss is about ten times lower than the
# 0.28 where plain gradient descent stalled.

# %%
def descend_with(make_optimizer, steps=50):
    """Run `steps` steps of `make_optimizer(parameters)` on the bowl from x0; return the loss function."""
    net = ConstantVectorNetwork(*BOWL_START)
    optimizer = make_optimizer(net.parameters())
    L = LossFunctionWithPlot()
    for _ in range(steps):
        optimizer.zero_grad()
        L(net()).backward()
        optimizer.step()
    return L


L = descend_with(lambda parameters: ADAMOptimizer(parameters, lr=0.1, weight_decay=0.1))
for step in range(0, 50, 7):
    print(f"loss at step {step:2d}: {L.losses[step]:.3f}")
L.plot_history()

# %% [markdown]
# ## A note on AdamW: decoupled weight decay
#
# In `torch.optim.Adam` (and your `ADAMOptimizer`) the decay is part of the gradient $g_t$, so
# it is also divided by $\sqrt{v}$: a parameter with large gradients hardly decays, one with
# tiny gradients decays a lot. (Question 1.E looks at what the decay does in plain gradient
# descent, where nothing divides the gradient.) **AdamW** (Loshchilov and Hutter, 2019;
# `torch.optim.AdamW`) *decouples* the decay: the moments see only the loss gradient
# $\nabla\mathcal{L}_{\text{obj}}(\theta)$, and the decay is applied to the parameter
# directly, at the same rate for every parameter (PyTorch's documentation of `AdamW` gives the
# update).
#
# It often regularizes better, and it is the usual choice for large networks. With the same
# numbers the two optimizers follow different paths, as the cell below shows. The tasks of this
# homework use the coupled version, your `ADAMOptimizer`. (Note also that `torch.optim.AdamW`
# defaults to `weight_decay=0.01`, while `torch.optim.Adam` defaults to 0.)

# %%
adam = descend_with(lambda parameters: torch.optim.Adam(parameters, lr=0.1, weight_decay=0.1))
adam_w = descend_with(lambda parameters: torch.optim.AdamW(parameters, lr=0.1, weight_decay=0.1))
print("step   Adam   AdamW")
for step in range(0, 50, 7):
    print(f"{step:4d}  {adam.losses[step]:.3f}  {adam_w.losses[step]:.3f}")

# %% [markdown]
# ## Sources
#
# List anyone and anything that helped you (classmates, web pages, AI tools) and how.
# Write "none" if nothing did.
