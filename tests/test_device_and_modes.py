"""Device choice, grading mode, Colab detection, seeding."""

import pytest
import torch

import hw2utils


def test_device_defaults_to_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert hw2utils.pick_device() == torch.device("cpu")


def test_device_prefers_cuda_when_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert hw2utils.pick_device() == torch.device("cuda")


def test_environment_variable_and_argument_override_the_choice(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv(hw2utils.ENV_DEVICE, "cpu")
    assert hw2utils.pick_device() == torch.device("cpu")
    assert hw2utils.pick_device("cuda:1") == torch.device("cuda:1")


def test_asking_for_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(hw2utils.ENV_DEVICE, "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
        hw2utils.pick_device()


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("NBGRADER_EXECUTION", "autograde", True),
        ("NBGRADER_EXECUTION", "validate", True),
        ("NBGRADER_EXECUTION", "", False),
        (hw2utils.ENV_GRADING, "1", True),
        (hw2utils.ENV_GRADING, "0", False),
    ],
)
def test_grading_mode_follows_nbgrader_and_the_documented_variable(
    monkeypatch, name, value, expected
):
    assert not hw2utils.grading_mode()
    monkeypatch.setenv(name, value)
    assert hw2utils.grading_mode() is expected


def test_colab_detection(monkeypatch):
    assert not hw2utils.in_colab()
    monkeypatch.setenv(hw2utils.ENV_FORCE_COLAB, "1")
    assert hw2utils.in_colab()


def test_base_url_override_gains_a_trailing_slash(monkeypatch):
    assert hw2utils.base_url() == hw2utils.BASE_URL
    monkeypatch.setenv(hw2utils.ENV_BASE_URL, "http://127.0.0.1:9/course")
    assert hw2utils.base_url() == "http://127.0.0.1:9/course/"
    assert hw2utils.dataset_url("hard") == "http://127.0.0.1:9/course/data/hard-classification.npz"


def test_set_seed_makes_torch_and_numpy_repeat():
    import numpy as np

    hw2utils.set_seed(7)
    first = torch.rand(3), np.random.rand(3)
    hw2utils.set_seed(7)
    second = torch.rand(3), np.random.rand(3)
    assert torch.equal(first[0], second[0]) and (first[1] == second[1]).all()


def test_grading_mode_can_be_switched_off_under_nbgrader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv(hw2utils.ENV_GRADING, "0")
    assert hw2utils.grading_mode() is False
