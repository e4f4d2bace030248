"""load_dataset: local files, validation, and the Colab download path against a
real HTTP server on 127.0.0.1."""

import functools
import http.server
import socket
import threading

import numpy as np
import pytest
import torch

import hw2utils
from conftest import write_dataset

TINY = hw2utils.DATASET_FILES["tiny"]


def test_loads_every_split_as_float32_tensors(easy_data_dir):
    arrays = np.load(easy_data_dir / TINY)
    ds = hw2utils.load_dataset("tiny", device="cpu", data_dir=easy_data_dir)
    for split, n in zip(hw2utils.SPLITS, (400, 100, 100)):
        data, labels = getattr(ds, f"{split}_data"), getattr(ds, f"{split}_labels")
        assert data.dtype == labels.dtype == torch.float32
        assert data.shape == (n, 36) and labels.shape == (n,)
        assert torch.equal(data, torch.as_tensor(arrays[f"{split}_data"], dtype=torch.float32))
        assert torch.equal(labels, torch.as_tensor(arrays[f"{split}_labels"], dtype=torch.float32))
    assert "train 400, val 100, test 100" in repr(ds)


def test_finds_the_data_folder_of_the_working_directory(easy_data_dir, tmp_path, monkeypatch):
    work = tmp_path / "work"
    write_dataset(work / "data" / TINY, sizes=(10, 5, 5))
    monkeypatch.chdir(work)
    monkeypatch.setattr(hw2utils, "__file__", str(tmp_path / "elsewhere" / "hw2utils.py"))
    assert len(hw2utils.load_dataset("tiny").train_labels) == 10


def test_missing_file_names_the_file_the_folders_and_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv(hw2utils.ENV_BASE_URL, "http://127.0.0.1:9/hw2/")
    with pytest.raises(FileNotFoundError) as err:
        hw2utils.load_dataset("hard", data_dir=tmp_path)
    message = str(err.value)
    assert "hard-classification.npz" in message and str(tmp_path) in message
    assert "http://127.0.0.1:9/hw2/data/hard-classification.npz" in message


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset 'huge'"):
        hw2utils.load_dataset("huge")


@pytest.mark.parametrize(
    "damage, complaint",
    [
        (lambda a: a.pop("val_labels"), "missing val_data or val_labels"),
        (
            lambda a: a.update(test_data=a["test_data"][:0], test_labels=a["test_labels"][:0]),
            r"test_data has shape \(0, 36\)",
        ),
        (lambda a: a.update(train_data=a["train_data"][:, :35]), r"expected \(N>0, 36\)"),
        (lambda a: a.update(train_labels=a["train_labels"][:-1]), "train_labels has shape"),
        (lambda a: a.update(val_labels=a["val_labels"] * 2), "other than 0 and 1"),
    ],
)
def test_incomplete_files_are_rejected_not_half_loaded(tmp_path, damage, complaint):
    arrays = write_dataset(tmp_path / TINY)
    arrays = {k: v.astype(np.int64) for k, v in arrays.items()}
    damage(arrays)
    np.savez(tmp_path / TINY, **arrays)
    with pytest.raises(ValueError, match=complaint):
        hw2utils.load_dataset("tiny", data_dir=tmp_path)


def test_an_html_page_saved_as_npz_is_rejected(tmp_path):
    (tmp_path / TINY).write_text("<html>404: Not Found</html>")
    with pytest.raises(ValueError, match="not a readable .npz dataset"):
        hw2utils.load_dataset("tiny", data_dir=tmp_path)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def course_server(tmp_path):
    """A real HTTP server on 127.0.0.1 publishing a course folder with data/."""
    site = tmp_path / "site"
    arrays = write_dataset(site / "data" / TINY, sizes=(30, 10, 10), seed=3)
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", arrays
    server.shutdown()
    server.server_close()


def test_colab_downloads_from_the_base_url(course_server, tmp_path, monkeypatch):
    url, arrays = course_server
    monkeypatch.setenv(hw2utils.ENV_BASE_URL, url)
    monkeypatch.setenv(hw2utils.ENV_FORCE_COLAB, "1")
    target = tmp_path / "student"
    ds = hw2utils.load_dataset("tiny", device="cpu", data_dir=target)
    assert (target / TINY).read_bytes() == (tmp_path / "site" / "data" / TINY).read_bytes()
    assert torch.equal(ds.val_labels, torch.as_tensor(arrays["val_labels"], dtype=torch.float32))


def test_outside_colab_nothing_is_downloaded_unless_asked(course_server, tmp_path, monkeypatch):
    url, _ = course_server
    monkeypatch.setenv(hw2utils.ENV_BASE_URL, url)
    with pytest.raises(FileNotFoundError, match="download=True"):
        hw2utils.load_dataset("tiny", data_dir=tmp_path / "a")
    assert not (tmp_path / "a" / TINY).exists()
    assert (
        len(hw2utils.load_dataset("tiny", data_dir=tmp_path / "b", download=True).train_labels)
        == 30
    )


def test_a_missing_file_on_the_server_is_a_clear_error_and_leaves_nothing(
    course_server, tmp_path, monkeypatch
):
    url, _ = course_server
    monkeypatch.setenv(hw2utils.ENV_BASE_URL, url)
    with pytest.raises(FileNotFoundError) as err:
        hw2utils.load_dataset("hard", data_dir=tmp_path / "s", download=True)
    assert "hard-classification.npz" in str(err.value) and url in str(err.value)
    assert "HTTP 404" in str(err.value)
    assert list((tmp_path / "s").iterdir()) == []


def test_an_unreachable_server_is_a_clear_error(tmp_path, monkeypatch):
    with socket.socket() as sock:  # a port that was just free has no server on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(hw2utils.ENV_BASE_URL, f"http://127.0.0.1:{port}/")
    with pytest.raises(FileNotFoundError, match="could not download 'tiny-classification.npz'"):
        hw2utils.load_dataset("tiny", data_dir=tmp_path, download=True)
