"""hwlib.preprocess (split, scale, centre) and hwlib.sampler.DataSampler (minibatches)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwlib.preprocess import preprocess_cifar, preprocess_mnist, split_and_center
from hwlib.sampler import DataSampler


def numbered_cifar(n_train: int = 60, n_test: int = 8, seed: int = 0) -> dict:
    """CIFAR-shaped uint8 images whose first two pixels (red channel) encode the image's index."""
    rng = np.random.default_rng(seed)
    X_train = rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8)
    X_train[:, 0, 0, 0], X_train[:, 0, 1, 0] = np.arange(n_train) // 256, np.arange(n_train) % 256
    return {
        "X_train": X_train,
        "y_train": rng.integers(0, 10, n_train),
        "X_test": rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test),
        "class_names": [f"class {i}" for i in range(10)],
    }


def original_rows(prepared_images: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Recover each prepared (channel-first) image's index from its first two red pixels."""
    restored = np.rint((prepared_images + mean) * 255).astype(int).reshape(len(prepared_images), 3, 32, 32)
    return restored[:, 0, 0, 0] * 256 + restored[:, 0, 0, 1]


def test_cifar_split_sizes_dtype_and_rows():
    data = numbered_cifar()
    prepared = preprocess_cifar(data, num_val=10, seed=1)
    assert prepared["X_train"].shape == (50, 3072) and prepared["X_val"].shape == (10, 3072)
    assert prepared["X_test"].shape == (8, 3072) and prepared["mean"].shape == (3072,)
    for key in ("X_train", "X_val", "X_test", "mean"):
        assert prepared[key].dtype == np.float32, key
    for key in ("y_train", "y_val", "y_test"):
        assert prepared[key].dtype == np.int64, key
    train_rows = original_rows(prepared["X_train"], prepared["mean"])
    val_rows = original_rows(prepared["X_val"], prepared["mean"])
    assert sorted([*train_rows, *val_rows]) == list(range(60))  # a partition of the training set
    np.testing.assert_array_equal(prepared["y_train"], data["y_train"][train_rows])
    np.testing.assert_array_equal(prepared["y_val"], data["y_train"][val_rows])
    np.testing.assert_array_equal(prepared["y_test"], data["y_test"])
    assert prepared["class_names"] == data["class_names"]


def test_mean_comes_from_the_training_split_only():
    data = numbered_cifar()
    prepared = preprocess_cifar(data, num_val=20, num_train=30, seed=2)
    train_rows = original_rows(prepared["X_train"], prepared["mean"])
    assert len(train_rows) == 30 and len(set(train_rows)) == 30
    expected = (data["X_train"][train_rows].transpose(0, 3, 1, 2).reshape(30, -1) / 255).mean(axis=0)
    np.testing.assert_allclose(prepared["mean"], expected, atol=1e-6)
    assert not np.allclose(prepared["mean"], (data["X_train"] / 255).mean(axis=0).transpose(2, 0, 1).ravel())
    np.testing.assert_allclose(prepared["X_train"].mean(axis=0), 0, atol=1e-6)
    # the test images are centred with the training mean, not their own
    expected_test = data["X_test"].transpose(0, 3, 1, 2).reshape(8, -1) / 255 - expected
    np.testing.assert_allclose(prepared["X_test"], expected_test, atol=1e-6)
    other_test = dict(data, X_test=np.full_like(data["X_test"], 255))
    np.testing.assert_array_equal(preprocess_cifar(other_test, num_val=20, num_train=30, seed=2)["mean"],
                                  prepared["mean"])


def test_channel_first_images_when_not_flattened():
    data = numbered_cifar()
    images = preprocess_cifar(data, num_val=5, flatten=False, seed=3)
    rows = preprocess_cifar(data, num_val=5, flatten=True, seed=3)
    assert images["X_train"].shape == (55, 3, 32, 32) and images["mean"].shape == (3, 32, 32)
    assert images["X_train"].flags.c_contiguous
    np.testing.assert_array_equal(images["X_train"].reshape(55, -1), rows["X_train"])
    index = original_rows(images["X_train"], images["mean"])[4]
    # channel 2, row 7, column 9 of the prepared image is pixel (7, 9, 2) of the original
    restored = images["X_train"][4, 2, 7, 9] + images["mean"][2, 7, 9]
    assert restored == pytest.approx(data["X_train"][index, 7, 9, 2] / 255, abs=1e-6)


def test_split_is_seeded_and_inputs_untouched():
    data = numbered_cifar()
    before = {key: np.copy(value) for key, value in data.items() if key != "class_names"}
    first, again = preprocess_cifar(data, seed=4, num_val=10), preprocess_cifar(data, seed=4, num_val=10)
    other = preprocess_cifar(data, seed=5, num_val=10)
    np.testing.assert_array_equal(first["X_val"], again["X_val"])
    assert not np.array_equal(first["y_val"], other["y_val"]) or not np.array_equal(first["X_val"], other["X_val"])
    for key, value in before.items():
        np.testing.assert_array_equal(data[key], value)


def test_float64_on_request_and_mnist_shapes():
    rng = np.random.default_rng(0)
    data = {"X_train": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), "y_train": rng.integers(0, 10, 30),
            "X_test": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), "y_test": rng.integers(0, 10, 4)}
    rows = preprocess_mnist(data, num_val=6, dtype=np.float64)
    assert rows["X_train"].shape == (24, 784) and rows["X_train"].dtype == np.float64
    images = preprocess_mnist(data, num_val=6, flatten=False)
    assert images["X_val"].shape == (6, 1, 28, 28) and images["X_val"].dtype == np.float32
    assert "class_names" not in images
    scaled = data["X_test"].reshape(4, -1) / 255 - rows["mean"]
    np.testing.assert_allclose(rows["X_test"], scaled)


@pytest.mark.parametrize(
    ("options", "expected"),
    [({"num_val": 60}, "num_val should be an integer in 0..59"),
     ({"num_val": -1}, "num_val"),
     ({"num_val": 10, "num_train": 51}, "num_train .* in 1..50, got 51"),
     ({"num_val": 2.5}, "num_val"),
     ({"dtype": np.int32}, "floating type")],
)
def test_bad_options_are_explained(options, expected):
    with pytest.raises(ValueError, match=expected):
        preprocess_cifar(numbered_cifar(), **options)


def test_mismatched_lengths_are_explained():
    data = numbered_cifar()
    with pytest.raises(ValueError, match="X_train 60 vs y_train 59"):
        split_and_center(data["X_train"], data["y_train"][:-1], data["X_test"], data["y_test"])


def test_real_subset_preprocesses_quickly(tmp_path, monkeypatch):
    configured = os.environ.get("HWLIB_TEST_CIFAR_ARCHIVE")
    archive = Path(configured) if configured else (
        Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar-10-python-subset.tar.gz")
    if not archive.is_file():
        pytest.skip(f"real CIFAR-10 subset not found at {archive} (set HWLIB_TEST_CIFAR_ARCHIVE)")
    from hwlib.cifar import load_cifar10

    monkeypatch.setenv("HWLIB_DATA_DIR", str(tmp_path))
    prepared = preprocess_cifar(load_cifar10(archive), num_val=1000)
    assert prepared["X_train"].shape == (4170, 3072) and prepared["X_val"].shape == (1000, 3072)
    assert prepared["X_test"].shape == (1017, 3072)
    assert abs(float(prepared["X_train"].mean())) < 1e-5
    assert 0.3 < float(prepared["mean"].mean()) < 0.6  # natural images, scaled to [0, 1]


# --- DataSampler ------------------------------------------------------------------------------

def epoch(sampler: DataSampler) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(sampler)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 250), batch_size=st.integers(1, 40), drop_last=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_each_epoch_visits_every_sample_once(n, batch_size, drop_last, seed):
    X = np.arange(n * 2).reshape(n, 2)
    sampler = DataSampler(X, np.arange(n), batch_size, seed=seed, drop_last=drop_last)
    for _ in range(2):
        batches = epoch(sampler)
        assert len(batches) == len(sampler)
        expected_len = n // batch_size if drop_last else math.ceil(n / batch_size)
        assert len(sampler) == expected_len
        seen = np.concatenate([y for _, y in batches]) if batches else np.array([], int)
        assert len(set(seen.tolist())) == len(seen)  # no repeats within an epoch
        if drop_last:
            assert all(len(y) == batch_size for _, y in batches) and len(seen) == n - n % batch_size
        else:
            assert sorted(seen.tolist()) == list(range(n))
            assert all(len(y) == batch_size for _, y in batches[:-1])
        for X_batch, y_batch in batches:  # samples stay paired with their labels
            np.testing.assert_array_equal(X_batch[:, 0], 2 * y_batch)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 120), batch_size=st.integers(1, 30), seed=st.integers(0, 2**32 - 1))
def test_same_seed_gives_the_same_batches_every_epoch(n, batch_size, seed):
    one, two = (DataSampler(np.arange(n), np.arange(n), batch_size, seed=seed) for _ in range(2))
    for _ in range(3):
        for (x1, y1), (x2, y2) in zip(epoch(one), epoch(two), strict=True):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)


def test_reshuffles_between_epochs_and_seeds_differ():
    sampler = DataSampler(np.arange(100), np.arange(100), 100, seed=0)
    first, second = next(iter(sampler))[1], next(iter(sampler))[1]
    assert not np.array_equal(first, second)
    other = next(iter(DataSampler(np.arange(100), np.arange(100), 100, seed=1)))[1]
    assert not np.array_equal(first, other)


def test_no_shuffle_keeps_order_and_image_batches_keep_shape():
    X = np.zeros((7, 3, 4, 4))
    batches = list(DataSampler(X, np.arange(7), 3, shuffle=False))
    assert [y.tolist() for _, y in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches[0][0].shape == (3, 3, 4, 4)


@pytest.mark.parametrize(
    ("X", "y", "batch_size", "expected"),
    [(np.zeros((5, 2)), np.zeros(4), 2, r"X of shape \(5, 2\) and y of shape \(4,\)"),
     (np.zeros((0, 2)), np.zeros(0), 2, "empty"),
     (np.zeros((5, 2)), np.zeros(5), 0, "positive integer, got 0"),
     (np.zeros((5, 2)), np.zeros(5), -3, "got -3"),
     (np.zeros((5, 2)), np.zeros(5), 2.0, "got 2.0"),
     (np.zeros((5, 2)), np.zeros(5), True, "got True")],
)
def test_invalid_sampler_arguments_are_explained(X, y, batch_size, expected):
    with pytest.raises(ValueError, match=expected):
        DataSampler(X, y, batch_size)


def test_drop_last_with_too_few_samples_gives_no_batch():
    sampler = DataSampler(np.arange(3), np.arange(3), 5, drop_last=True)
    assert len(sampler) == 0 and list(sampler) == []
