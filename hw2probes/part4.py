"""Probes of notebook 4 that stay on the grader's side: the wrapping of the networks of Tasks 4.7
and 4.9. Their judges are in ``autograder.checks.part4``, which says why. The other aspects of
notebook 4 are declared, probe and comparison, in ``hw2checks.part4``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from hw2checks.part3 import mro
from hw2probes import describe_error

# 4.7 and 4.9: 3.12's network inside the wrappers ----------------------------------------


def wrapped(model, net, cls) -> dict:
    """Introspection: {"built": True, "mro": the model's classes, "holds_net": model.net is
    net, "criterion": the classes of model.criterion}. A model that was never built (None:
    the notebook has no such name) gives {"built": False, "class_defined": cls is not None,
    "class_raised": what cls(nn.BCELoss(), a copy of net) raises, or None}."""
    if model is not None:
        return {
            "built": True,
            "mro": mro(model),
            "holds_net": getattr(model, "net", None) is net,
            "criterion": mro(getattr(model, "criterion", None)),
        }
    data = {"built": False, "class_defined": cls is not None, "class_raised": None}
    if cls is None:
        return data
    try:
        with torch.random.fork_rng(devices=[]):
            cls(nn.BCELoss(), copy.deepcopy(net))
    except Exception as exc:  # the wrapper class of Task 4.6 or 4.8 fails: its own checks say so
        data["class_raised"] = describe_error(exc)
    return data


# The notebook's hidden calls pass globals().get() of the model and of its class: these probes
# run (and the wrapping is judged) even when the class raised before the model existed.


def probe_net_4_7__wrapper(model_4_7, net_4_7, Supervise_random_weights=None):
    return wrapped(model_4_7, net_4_7, Supervise_random_weights)


def probe_net_4_9__wrapper(model_4_9, net_4_9, Supervise_Kaiming_weights=None):
    return wrapped(model_4_9, net_4_9, Supervise_Kaiming_weights)
