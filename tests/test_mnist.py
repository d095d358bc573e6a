"""hwlib.mnist: IDX parsing (gzip and raw), consistency checks and downloads over loopback."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from hwlib import mnist
from hwlib.download import DatasetError
from hwlib.mnist import load_mnist, read_idx

NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def idx_bytes(values: np.ndarray, type_code: int = 0x08) -> bytes:
    """Encode an array in IDX: 0x0000, type code, ndim, big-endian uint32 dims, big-endian values."""
    header = struct.pack(">HBB", 0, type_code, values.ndim) + struct.pack(f">{values.ndim}I", *values.shape)
    return header + values.astype(values.dtype.newbyteorder(">")).tobytes()


def mnist_arrays(seed: int = 0, n_train: int = 7, n_test: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_mnist(folder: Path, arrays: dict[str, np.ndarray], *, gz: bool | dict[str, bool] = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, values in arrays.items():
        compress = gz if isinstance(gz, bool) else gz[key]
        payload = idx_bytes(values)
        name = NAMES[key] + (".gz" if compress else "")
        (folder / name).write_bytes(gzip.compress(payload) if compress else payload)
    return folder


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def check_loaded(loaded: dict, arrays: dict[str, np.ndarray]) -> None:
    assert loaded["X_train"].dtype == loaded["X_test"].dtype == np.uint8
    assert loaded["y_train"].dtype == loaded["y_test"].dtype == np.int64
    np.testing.assert_array_equal(loaded["X_train"], arrays["train_images"])
    np.testing.assert_array_equal(loaded["y_train"], arrays["train_labels"])
    np.testing.assert_array_equal(loaded["X_test"], arrays["test_images"])
    np.testing.assert_array_equal(loaded["y_test"], arrays["test_labels"])
    assert loaded["class_names"] == [str(d) for d in range(10)]


@pytest.mark.parametrize("gz", [True, False, {"train_images": True, "train_labels": False,
                                               "test_images": False, "test_labels": True}],
                         ids=["gzip", "raw", "mixed"])
def test_load_from_folder(data_cache, tmp_path, gz):
    arrays = mnist_arrays()
    loaded = load_mnist(write_mnist(tmp_path / "mnist", arrays, gz=gz), download=False)
    check_loaded(loaded, arrays)
    assert loaded["X_train"].flags.writeable


def test_env_folder_is_used(data_cache, tmp_path, monkeypatch):
    arrays = mnist_arrays(seed=5)
    monkeypatch.setenv("HWLIB_MNIST", str(write_mnist(tmp_path / "m", arrays)))
    check_loaded(load_mnist(download=False), arrays)


@pytest.mark.parametrize(
    ("values", "type_code"),
    [(np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08),
     (np.array([-3, 7, 1000], dtype=np.int16), 0x0B),
     (np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2), 0x0D),
     (np.array([[1.5, -2.25]], dtype=np.float64), 0x0E)],
    ids=["uint8-3d", "int16", "float32", "float64"],
)
def test_read_idx_decodes_big_endian_types(tmp_path, values, type_code):
    path = tmp_path / "values.idx"
    path.write_bytes(idx_bytes(values, type_code))
    magic, decoded = read_idx(path)
    assert magic == (type_code << 8) | values.ndim
    assert decoded.dtype == values.dtype and decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, values)


def broken_folders() -> dict[str, tuple[dict, str, str]]:
    """Case id -> (file name -> bytes overrides, file named in the error, text of the error)."""
    arrays = mnist_arrays()
    images = idx_bytes(arrays["train_images"])
    return {
        "images-with-label-magic": ({NAMES["train_images"]: idx_bytes(arrays["train_labels"])},
                                    NAMES["train_images"], "magic 2051"),
        "labels-with-image-magic": ({NAMES["test_labels"]: idx_bytes(arrays["test_images"])},
                                    NAMES["test_labels"], "magic 2049"),
        "count-mismatch": ({NAMES["train_labels"]: idx_bytes(arrays["train_labels"][:-1])},
                           NAMES["train_labels"], "7 images but"),
        "truncated-values": ({NAMES["train_images"]: images[:-10]}, NAMES["train_images"], "truncated or damaged"),
        "extra-bytes": ({NAMES["train_images"]: images + b"\0"}, NAMES["train_images"], "truncated or damaged"),
        "truncated-header": ({NAMES["train_images"]: images[:9]}, NAMES["train_images"], "inside its header"),
        "not-idx": ({NAMES["test_images"]: b"PK\x03\x04 a zip file"}, NAMES["test_images"], "is not an IDX file"),
        "wrong-image-size": ({NAMES["test_images"]: idx_bytes(np.zeros((3, 32, 32), np.uint8))},
                             NAMES["test_images"], "(3, 32, 32)"),
        "label-out-of-range": ({NAMES["test_labels"]: idx_bytes(np.array([1, 2, 12], np.uint8))},
                               NAMES["test_labels"], "label 12"),
    }


BROKEN = broken_folders()


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_inconsistent_files_give_clear_errors(data_cache, tmp_path, case):
    overrides, named, expected = BROKEN[case]
    folder = write_mnist(tmp_path / "m", mnist_arrays(), gz=False)
    for name, payload in overrides.items():
        (folder / name).write_bytes(payload)
    with pytest.raises(DatasetError) as caught:
        load_mnist(folder)
    assert isinstance(caught.value, ValueError)
    assert named in str(caught.value) and expected in str(caught.value)


def test_truncated_gzip_is_reported(data_cache, tmp_path):
    folder = write_mnist(tmp_path / "m", mnist_arrays())
    packed = (folder / f"{NAMES['train_images']}.gz").read_bytes()
    (folder / f"{NAMES['train_images']}.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DatasetError, match="cannot be read as a \\(gzip\\) IDX file"):
        load_mnist(folder)


def test_missing_file_and_missing_folder(data_cache, tmp_path):
    folder = write_mnist(tmp_path / "m", mnist_arrays())
    (folder / f"{NAMES['test_labels']}.gz").unlink()
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte"):
        load_mnist(folder)
    with pytest.raises(DatasetError, match="is not a folder"):
        load_mnist(tmp_path / "nowhere")


# --- downloads over loopback ----------------------------------------------------------------

@pytest.fixture
def mirror(http_server, monkeypatch):
    """Serve four small gzip IDX files as the canonical mirror, with their md5s as the official ones."""
    arrays = mnist_arrays(seed=9)
    checksums = {}
    for key, values in arrays.items():
        payload = gzip.compress(idx_bytes(values))
        name = NAMES[key] + ".gz"
        http_server.files[f"/mnist/{name}"] = payload
        checksums[name] = hashlib.md5(payload).hexdigest()
    monkeypatch.setattr(mnist, "MNIST_URL", http_server.url("/mnist/"))
    monkeypatch.setattr(mnist, "MNIST_MD5", checksums)
    return http_server, arrays


def test_download_caches_and_is_not_repeated(data_cache, mirror, capsys):
    server, arrays = mirror
    check_loaded(load_mnist(), arrays)
    assert sorted(server.requests) == sorted(f"/mnist/{name}.gz" for name in NAMES.values())
    captured = capsys.readouterr()
    assert "train-images-idx3-ubyte.gz" in captured.out and captured.err == ""
    assert len(files_under(data_cache / "mnist")) == 4

    check_loaded(load_mnist(), arrays)
    assert len(server.requests) == 4


def test_download_false_on_empty_cache(data_cache, mirror):
    server, _ = mirror
    with pytest.raises(DatasetError, match="download=True"):
        load_mnist(download=False)
    assert server.requests == []


def test_bad_md5_discards_the_file(data_cache, mirror, monkeypatch):
    checksums = dict(mnist.MNIST_MD5, **{"t10k-images-idx3-ubyte.gz": "f" * 32})
    monkeypatch.setattr(mnist, "MNIST_MD5", checksums)
    with pytest.raises(DatasetError, match="expected f{32}"):
        load_mnist()
    assert not (data_cache / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    assert all(path.name in checksums for path in files_under(data_cache))  # only complete, verified files


@pytest.mark.parametrize("behaviour", ["short", "cut"])
def test_broken_transfer_leaves_no_partial_file(data_cache, mirror, behaviour):
    server, _ = mirror
    server.behaviour["/mnist/train-images-idx3-ubyte.gz"] = behaviour
    with pytest.raises(DatasetError):
        load_mnist()
    assert files_under(data_cache) == []  # the first file failed, nothing else was fetched


def test_unreachable_mirror(data_cache, closed_port_url, monkeypatch):
    monkeypatch.setattr(mnist, "MNIST_URL", closed_port_url.rsplit("/", 1)[0] + "/")
    with pytest.raises(DatasetError, match="HWLIB_MNIST"):
        load_mnist()
    assert files_under(data_cache) == []


# --- a folder with the official test set only (the offline copy) ----------------------------------

def test_test_only_folder_is_split_and_says_so(data_cache, tmp_path, monkeypatch):
    arrays = mnist_arrays(seed=3, n_test=40)
    folder = write_mnist(tmp_path / "t10k", {k: v for k, v in arrays.items() if k.startswith("test")})
    monkeypatch.setattr(mnist, "TEST_ONLY_TRAIN", 30)
    loaded = load_mnist(folder, download=False)
    assert loaded["X_train"].shape == (30, 28, 28) and loaded["X_test"].shape == (10, 28, 28)
    # Every test image is used exactly once, with its own label.
    together = np.concatenate([loaded["X_train"], loaded["X_test"]]).reshape(40, -1)
    labels = np.concatenate([loaded["y_train"], loaded["y_test"]])
    original_rows = {row.tobytes(): label for row, label in zip(arrays["test_images"].reshape(40, -1),
                                                                arrays["test_labels"])}
    assert sorted(row.tobytes() for row in together) == sorted(original_rows)
    assert all(original_rows[row.tobytes()] == label for row, label in zip(together, labels))
    info = loaded["info"]
    assert info["official_split"] is False
    assert "only the official test set" in info["note"] and "30 training and 10 test" in info["note"]


def test_split_is_seeded_and_checks_its_size():
    images, labels = np.arange(50 * 784, dtype=np.uint8).reshape(50, 28, 28), np.arange(50) % 10
    first = mnist.split_test_only(images, labels, num_train=40)
    again = mnist.split_test_only(images, labels, num_train=40)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert [len(part) for part in first] == [40, 40, 10, 10]
    with pytest.raises(ValueError, match="between 1 and 49"):
        mnist.split_test_only(images, labels, num_train=50)


def test_full_folder_reports_the_official_split(data_cache, tmp_path):
    loaded = load_mnist(write_mnist(tmp_path / "m", mnist_arrays()), download=False)
    assert loaded["info"]["official_split"] is True and "7 training and 3 test" in loaded["info"]["note"]


def test_train_images_without_labels_is_an_error(data_cache, tmp_path):
    folder = write_mnist(tmp_path / "m", mnist_arrays())
    (folder / f"{NAMES['train_labels']}.gz").unlink()
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte"):
        load_mnist(folder)


def real_t10k_folder() -> Path:
    """The real MNIST test set: $HWLIB_TEST_MNIST, else ../shared/data/mnist-t10k next to the repository."""
    import os

    configured = os.environ.get("HWLIB_TEST_MNIST")
    folder = Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared/data/mnist-t10k"
    if not (folder / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST test set not found in {folder} (set HWLIB_TEST_MNIST to the mnist-t10k folder)")
    return folder


def test_real_test_set_offline(data_cache, monkeypatch):
    from hwlib.preprocess import preprocess_mnist

    monkeypatch.setenv("HWLIB_MNIST", str(real_t10k_folder()))
    loaded = load_mnist(download=False)
    assert loaded["X_train"].shape == (8000, 28, 28) and loaded["X_test"].shape == (2000, 28, 28)
    assert set(np.unique(loaded["y_train"])) == set(range(10)) and set(np.unique(loaded["y_test"])) == set(range(10))
    assert loaded["info"]["official_split"] is False and "10,000 images" in loaded["info"]["note"]
    data = preprocess_mnist(loaded, num_val=1000)
    assert data["X_train"].shape == (7000, 784) and data["X_val"].shape == (1000, 784)
    assert data["info"] == loaded["info"]
    assert abs(float(data["X_train"].mean())) < 1e-4


def test_grading_kernels_get_a_read_only_copy_of_mnist(data_cache, tmp_path, monkeypatch):
    """course.kernel_data copies the MNIST files next to CIFAR-10 and names them in the kernel's environment."""
    from course import kernel_data

    cifar = tmp_path / "prepared"
    (cifar / kernel_data.CIFAR_FOLDER).mkdir(parents=True)
    arrays = mnist_arrays()
    monkeypatch.setenv("HWLIB_MNIST", str(write_mnist(tmp_path / "m", {k: v for k, v in arrays.items()
                                                                        if k.startswith("test")})))
    files = kernel_data._mnist_files()
    assert sorted(path.name for path in files) == sorted(f"{NAMES[k]}.gz" for k in ("test_images", "test_labels"))

    monkeypatch.setenv(kernel_data.ENV, str(cifar))  # a folder prepared earlier is reused as it is
    kernel_data.prepare.cache_clear()
    try:
        assert "HWLIB_MNIST" not in kernel_data.kernel_env()
        (cifar / kernel_data.MNIST_FOLDER).mkdir()
        env = kernel_data.kernel_env()
        assert env["HWLIB_MNIST"] == str(cifar / kernel_data.MNIST_FOLDER)
    finally:
        kernel_data.prepare.cache_clear()


def test_prepare_copies_the_mnist_files(data_cache, tmp_path, monkeypatch):
    import hwlib.cifar
    from course import kernel_data

    batches = tmp_path / "cifar" / kernel_data.CIFAR_FOLDER
    batches.mkdir(parents=True)
    (batches / "test_batch").write_bytes(b"x")
    monkeypatch.setattr(hwlib.cifar, "locate_cifar10", lambda: batches)
    monkeypatch.setenv("HWLIB_MNIST", str(write_mnist(tmp_path / "m", mnist_arrays())))
    monkeypatch.setenv(kernel_data.ENV, "")  # none prepared yet; restored after the test
    kernel_data.prepare.cache_clear()
    try:
        folder = kernel_data.prepare()
        copied = folder / kernel_data.MNIST_FOLDER
        assert sorted(p.name for p in copied.iterdir()) == sorted(f"{name}.gz" for name in NAMES.values())
        assert kernel_data.kernel_env()["HWLIB_MNIST"] == str(copied)
        check_loaded(load_mnist(copied, download=False), mnist_arrays())
    finally:
        kernel_data.prepare.cache_clear()
