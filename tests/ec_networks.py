"""Networks for extra credit EC1's tests, built by hand (no training): ``rule_network``
computes the term's hard rule exactly, so a test that needs a top-scoring (or a known
partly wrong) saved model needs only a forward pass."""

import torch
from torch import nn

from lessons.rules import Variant


def rule_network(flip=False, sigmoid=True):
    """Linear and ReLU layers that compute the hard rule exactly; with `flip`, wrong whenever
    cells 0-2 are all set (about 1 grid in 8). Without `sigmoid` it outputs logits."""
    v = Variant.from_seed()
    A, B, C, D, E, F = (
        nn.Linear(36, 13),
        nn.Linear(13, 7),
        nn.Linear(7, 3),
        nn.Linear(3, 2),
        nn.Linear(2, 2),
        nn.Linear(2, 1),
    )
    with torch.no_grad():
        for layer in (A, B, C, D, E, F):
            layer.weight.zero_()
            layer.bias.zero_()
        for i in range(6):  # A: relu(d_i), relu(-d_i); B: f_i = [d_i = 0] = relu(1 - |d_i|)
            plus, minus = torch.as_tensor(v.plus[i]), torch.as_tensor(v.minus[i])
            A.weight[2 * i, plus], A.weight[2 * i, minus] = 1.0, -1.0
            A.weight[2 * i + 1, plus], A.weight[2 * i + 1, minus] = -1.0, 1.0
            B.weight[i, 2 * i] = B.weight[i, 2 * i + 1] = -1.0
            B.bias[i] = 1.0
        if flip:  # g = [cells 0-2 all set], carried along to the end
            A.weight[12, :3], A.bias[12] = 1.0, -2.0
        B.weight[6, 12] = 1.0
        C.weight[0, :3], C.weight[0, 3:6] = 1.0, -1.0  # relu(S1 - S2), relu(S2 - S1), g
        C.weight[1, :3], C.weight[1, 3:6] = -1.0, 1.0
        C.weight[2, 6] = 1.0
        D.weight[0, :2], D.bias[0] = -1.0, 1.0  # equal = relu(1 - |S1 - S2|), g
        D.weight[1, 2] = 1.0
        E.weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))  # equal XOR g
        F.weight.fill_(20.0)
        F.bias.fill_(-10.0)
    layers = [A, nn.ReLU(), B, nn.ReLU(), C, nn.ReLU(), D, nn.ReLU(), E, nn.ReLU(), F]
    return nn.Sequential(*layers, *([nn.Sigmoid()] if sigmoid else []))
