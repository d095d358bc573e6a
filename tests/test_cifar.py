"""hwlib.cifar: the real archive format, downloads over loopback, and damaged or unsafe archives."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

import hwlib.download
from hwlib import cifar
from hwlib.cifar import load_cifar10
from hwlib.download import DatasetError

OFFICIAL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_SIZES = (4, 3, 3, 2, 2)
TEST_SIZE = 5
SUBSET_MD5 = "311a5c3e599605a44a24ec833c0078f8"


def shared_subset() -> Path:
    """The real CIFAR-10 subset: $HWLIB_TEST_CIFAR_ARCHIVE, else ../shared/data next to the repository."""
    configured = os.environ.get("HWLIB_TEST_CIFAR_ARCHIVE")
    path = Path(configured) if configured else (
        Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar-10-python-subset.tar.gz"
    )
    if not path.is_file():
        pytest.skip(f"real CIFAR-10 subset not found at {path} (set HWLIB_TEST_CIFAR_ARCHIVE to its path)")
    return path


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def make_batch(rng: np.random.Generator, size: int, *, filenames: bool = False) -> dict:
    """A batch dict the way the official pickles hold it."""
    batch = {
        "batch_label": "synthetic batch",
        "labels": rng.integers(0, 10, size).tolist(),
        "data": rng.integers(0, 256, (size, 3072), dtype=np.uint8),
    }
    if filenames:
        batch["filenames"] = [f"image_{i}.png" for i in range(size)]
    return batch


def official_contents(seed: int = 0, *, filenames: bool = False) -> dict[str, object]:
    """File name -> unpickled object for every file of cifar-10-batches-py."""
    rng = np.random.default_rng(seed)
    contents: dict[str, object] = {
        f"data_batch_{i}": make_batch(rng, size, filenames=filenames) for i, size in enumerate(TRAIN_SIZES, 1)
    }
    contents["test_batch"] = make_batch(rng, TEST_SIZE, filenames=filenames)
    contents["batches.meta"] = {"label_names": OFFICIAL_NAMES, "num_cases_per_batch": 4, "num_vis": 3072}
    return contents


def add_bytes(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def archive_bytes(contents: dict[str, object], *, extra_members: list[tarfile.TarInfo] = ()) -> bytes:
    """A cifar-10-python.tar.gz image; values of type bytes are stored as-is, others pickled."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        folder = tarfile.TarInfo("cifar-10-batches-py")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, obj in contents.items():
            payload = obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=2)
            add_bytes(tar, f"cifar-10-batches-py/{name}", payload)
        for member in extra_members:
            if member.isfile():
                add_bytes(tar, member.name, b"payload")
            else:
                tar.addfile(member)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def check_matches(loaded: dict, contents: dict[str, object]) -> None:
    """Loaded arrays hold exactly the batches' pixels and labels, images channel-last."""
    train = [contents[f"data_batch_{i}"] for i in range(1, 6)]
    rows = np.concatenate([batch["data"] for batch in train])
    labels = np.concatenate([batch["labels"] for batch in train])
    assert loaded["X_train"].shape == (sum(TRAIN_SIZES), 32, 32, 3)
    assert loaded["X_train"].dtype == np.uint8 and loaded["y_train"].dtype == np.int64
    np.testing.assert_array_equal(loaded["y_train"], labels)
    # pixel (row r, column c, channel ch) of image i sits at index ch*1024 + r*32 + c of its row
    for i, r, c, ch in [(0, 0, 0, 0), (1, 5, 7, 2), (len(rows) - 1, 31, 31, 1), (6, 31, 0, 1)]:
        assert loaded["X_train"][i, r, c, ch] == rows[i, ch * 1024 + r * 32 + c]
    test = contents["test_batch"]
    assert loaded["X_test"].shape == (TEST_SIZE, 32, 32, 3)
    np.testing.assert_array_equal(loaded["X_test"].transpose(0, 3, 1, 2).reshape(TEST_SIZE, -1), test["data"])
    np.testing.assert_array_equal(loaded["y_test"], test["labels"])
    assert loaded["class_names"] == OFFICIAL_NAMES


# --- local archives and folders -------------------------------------------------------------

@pytest.mark.parametrize("filenames", [False, True], ids=["no-filenames", "with-filenames"])
def test_local_archive_from_env_loads_and_reports_md5(data_cache, tmp_path, monkeypatch, filenames):
    contents = official_contents(filenames=filenames)
    data = archive_bytes(contents)
    archive = write(tmp_path / "mine.tar.gz", data)
    monkeypatch.setenv("HWLIB_CIFAR10", str(archive))

    loaded = load_cifar10(download=False)

    check_matches(loaded, contents)
    assert loaded["info"] == {"source": str(archive), "md5": md5_hex(data), "official": False}
    assert (data_cache / "cifar10" / "extracted" / md5_hex(data) / "cifar-10-batches-py" / "test_batch").is_file()


def test_extracted_folder_or_its_parent_load_the_same(data_cache, tmp_path, monkeypatch):
    contents = official_contents(seed=3)
    with tarfile.open(fileobj=io.BytesIO(archive_bytes(contents))) as tar:
        tar.extractall(tmp_path / "unpacked")
    parent = tmp_path / "unpacked"

    check_matches(load_cifar10(parent), contents)
    check_matches(load_cifar10(parent / "cifar-10-batches-py"), contents)
    monkeypatch.setenv("HWLIB_CIFAR10", str(parent / "cifar-10-batches-py"))
    loaded = load_cifar10()
    check_matches(loaded, contents)
    assert loaded["info"]["md5"] is None
    assert files_under(data_cache) == []  # folders are read in place


def test_two_archives_never_share_an_extracted_copy(data_cache, tmp_path):
    first, second = official_contents(seed=1), official_contents(seed=2)
    check_matches(load_cifar10(write(tmp_path / "a.tar.gz", archive_bytes(first))), first)
    # same file name, different content: must not reuse the first extraction
    check_matches(load_cifar10(write(tmp_path / "a.tar.gz", archive_bytes(second))), second)
    assert len(list((data_cache / "cifar10" / "extracted").iterdir())) == 2


def test_root_takes_precedence_over_env(data_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("HWLIB_CIFAR10", str(tmp_path / "does-not-exist.tar.gz"))
    contents = official_contents(seed=4)
    check_matches(load_cifar10(write(tmp_path / "ok.tar.gz", archive_bytes(contents))), contents)


@pytest.mark.parametrize("where", ["missing-file", "empty-folder"])
def test_bad_local_path_says_what_to_point_at(data_cache, tmp_path, monkeypatch, where):
    target = tmp_path / ("nothing.tar.gz" if where == "missing-file" else "empty")
    if where == "empty-folder":
        target.mkdir()
    monkeypatch.setenv("HWLIB_CIFAR10", str(target))
    with pytest.raises(DatasetError, match="HWLIB_CIFAR10") as caught:
        load_cifar10()
    assert str(target) in str(caught.value)


# --- damaged, wrong or unsafe archives ------------------------------------------------------

def symlink_member(name: str, target: str) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = tarfile.SYMTYPE, target
    return member


def hardlink_member(name: str, target: str) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = tarfile.LNKTYPE, target
    return member


def fifo_member(name: str) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = tarfile.FIFOTYPE
    return member


def damaged_archives() -> dict[str, tuple[bytes, str]]:
    """Case id -> (archive bytes, text the error must contain)."""
    good = archive_bytes(official_contents())
    without_test = {k: v for k, v in official_contents().items() if k != "test_batch"}
    return {
        "random-bytes": (np.random.default_rng(0).bytes(5000), "not a complete, readable"),
        "truncated-gzip": (good[: len(good) // 2], "not a complete, readable"),
        "plain-text": (b"<html>404 Not Found</html>", "not a complete, readable"),
        "missing-test-batch": (archive_bytes(without_test), "missing cifar-10-batches-py/test_batch"),
        "path-traversal": (archive_bytes(official_contents(), extra_members=[tarfile.TarInfo("../evil")]),
                           "'../evil' is unsafe"),
        "nested-traversal": (archive_bytes(official_contents(), extra_members=[
            tarfile.TarInfo("cifar-10-batches-py/../../evil")]), "outside the extraction folder"),
        "absolute-path": (archive_bytes(official_contents(), extra_members=[tarfile.TarInfo("/tmp/evil")]),
                          "outside the extraction folder"),
        "symlink": (archive_bytes(official_contents(), extra_members=[
            symlink_member("cifar-10-batches-py/escape", "/etc/passwd")]), "is a link"),
        "symlink-replacing-batch": (archive_bytes(without_test, extra_members=[
            symlink_member("cifar-10-batches-py/test_batch", "../../secret")]), "is a link"),
        "hardlink": (archive_bytes(official_contents(), extra_members=[
            hardlink_member("cifar-10-batches-py/copy", "cifar-10-batches-py/test_batch")]), "is a link"),
        "fifo": (archive_bytes(official_contents(), extra_members=[fifo_member("cifar-10-batches-py/pipe")]),
                 "special file"),
    }


DAMAGED = damaged_archives()


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_or_unsafe_archive_is_rejected_with_nothing_extracted(data_cache, tmp_path, case):
    payload, expected = DAMAGED[case]
    archive = write(tmp_path / f"{case}.tar.gz", payload)
    with pytest.raises(DatasetError) as caught:
        load_cifar10(archive)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert expected in message
    assert str(archive) in message and "good copy" in message  # names the file and what to do
    assert files_under(data_cache) == []
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil").exists()


class RunsCode:
    """Pickles to a call of os.getcwd: a batch must never be able to run code."""

    def __reduce__(self):
        return (os.getcwd, ())


@pytest.mark.parametrize(
    ("name", "obj", "expected"),
    [
        ("data_batch_2", [1, 2, 3], "expected a dict with 'data' and 'labels', got list"),
        ("data_batch_3", {"data": np.zeros((2, 3072), np.uint8)}, "expected a dict with 'data' and 'labels'"),
        ("data_batch_1", {"data": np.zeros((2, 1024), np.uint8), "labels": [0, 1]}, "shape (n, 3072)"),
        ("test_batch", {"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "float32"),
        ("data_batch_5", {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]}, "expected 0..9"),
        ("data_batch_4", {"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "(1,) labels for 2 images"),
        ("batches.meta", {"num_vis": 3072}, "'label_names' lists 10 names"),
        ("test_batch", b"\x80\x02not a pickle", "cannot be unpickled"),
        ("data_batch_1", {"data": RunsCode(), "labels": [0]}, "posix.getcwd"),
    ],
    ids=["list", "no-labels", "wrong-width", "float-data", "label-10", "label-count", "meta", "garbage",
         "code"],
)
def test_malformed_batch_is_named_in_the_error(data_cache, tmp_path, name, obj, expected):
    contents = official_contents()
    contents[name] = obj
    archive = write(tmp_path / "odd.tar.gz", archive_bytes(contents))
    with pytest.raises(DatasetError) as caught:
        load_cifar10(archive)
    assert expected in str(caught.value)
    assert f"cifar-10-batches-py/{name}" in str(caught.value)


# --- downloads over loopback ----------------------------------------------------------------

@pytest.fixture
def canonical(http_server, monkeypatch):
    """Point the canonical URL and md5 at a synthetic archive served on 127.0.0.1."""
    contents = official_contents(seed=7)
    data = archive_bytes(contents)
    http_server.files["/cifar-10-python.tar.gz"] = data
    monkeypatch.setattr(cifar, "CIFAR10_URL", http_server.url("/cifar-10-python.tar.gz"))
    monkeypatch.setattr(cifar, "CIFAR10_MD5", md5_hex(data))
    return http_server, contents, data


def test_download_shows_progress_on_stdout_caches_and_is_reused(data_cache, canonical, capsys):
    server, contents, data = canonical
    loaded = load_cifar10()
    check_matches(loaded, contents)
    assert loaded["info"]["official"] is True
    captured = capsys.readouterr()
    assert "cifar-10-python.tar.gz" in captured.out and "100%" in captured.out
    assert captured.err == ""
    cached = data_cache / "cifar10" / "cifar-10-python.tar.gz"
    assert cached.read_bytes() == data
    assert server.requests == ["/cifar-10-python.tar.gz"]

    check_matches(load_cifar10(), contents)  # extracted copy reused
    assert len(server.requests) == 1
    # without the extracted copy the cached archive is verified and unpacked again, still no download
    shutil.rmtree(data_cache / "cifar10" / "extracted")
    check_matches(load_cifar10(download=False), contents)
    assert len(server.requests) == 1
    assert capsys.readouterr().err == ""


def test_no_progress_output_while_autograding(data_cache, canonical, capsys, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    load_cifar10()
    assert capsys.readouterr() == ("", "")


def test_wrong_md5_on_download_leaves_no_file(data_cache, canonical, monkeypatch):
    monkeypatch.setattr(cifar, "CIFAR10_MD5", "0" * 32)
    with pytest.raises(DatasetError, match="expected 0{32}.*Run again") as caught:
        load_cifar10()
    assert cifar.CIFAR10_URL in str(caught.value)
    assert files_under(data_cache) == []


def test_truncated_response_leaves_no_file(data_cache, canonical):
    server, _, _ = canonical
    server.behaviour["/cifar-10-python.tar.gz"] = "short"
    with pytest.raises(DatasetError, match="md5"):
        load_cifar10()
    assert files_under(data_cache) == []


def test_connection_closed_mid_stream_leaves_no_file(data_cache, canonical):
    server, _, data = canonical
    server.behaviour["/cifar-10-python.tar.gz"] = "cut"
    with pytest.raises(DatasetError, match=f"stopped early: got {len(data) // 2:,} of {len(data):,} bytes"):
        load_cifar10()
    assert files_under(data_cache) == []


def test_interrupted_download_leaves_no_partial_file(data_cache, canonical, monkeypatch):
    class InterruptingBar(hwlib.download.tqdm):
        def update(self, n=1):
            raise KeyboardInterrupt

    monkeypatch.setattr(hwlib.download, "tqdm", InterruptingBar)
    with pytest.raises(KeyboardInterrupt):
        load_cifar10()
    assert files_under(data_cache) == []


@pytest.mark.parametrize("failure", ["refused", "404"])
def test_unreachable_download_explains_offline_use(data_cache, http_server, closed_port_url, monkeypatch, failure):
    url = closed_port_url if failure == "refused" else http_server.url("/missing.tar.gz")
    monkeypatch.setattr(cifar, "CIFAR10_URL", url)
    with pytest.raises(DatasetError, match="HWLIB_CIFAR10=/path/to/the/archive") as caught:
        load_cifar10()
    assert url in str(caught.value)
    assert files_under(data_cache) == []


def test_empty_cache_without_download_is_an_error(data_cache, canonical):
    server, _, _ = canonical
    with pytest.raises(DatasetError, match="download=False"):
        load_cifar10(download=False)
    assert server.requests == []


def test_damaged_cached_archive_says_delete_and_rerun(data_cache, canonical):
    server, _, _ = canonical
    cached = data_cache / "cifar10" / "cifar-10-python.tar.gz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half an archive")
    with pytest.raises(DatasetError, match="Delete it and run again") as caught:
        load_cifar10()
    assert str(cached) in str(caught.value)
    assert server.requests == []


# --- the real CIFAR-10 subset ---------------------------------------------------------------

def check_real_subset(loaded: dict) -> None:
    assert loaded["X_train"].shape == (5170, 32, 32, 3) and loaded["X_test"].shape == (1017, 32, 32, 3)
    assert loaded["X_train"].dtype == loaded["X_test"].dtype == np.uint8
    assert loaded["y_train"].dtype == loaded["y_test"].dtype == np.int64
    assert loaded["class_names"] == OFFICIAL_NAMES
    assert set(loaded["y_train"].tolist()) == set(range(10)) == set(loaded["y_test"].tolist())
    assert loaded["X_train"].flags.c_contiguous and loaded["X_test"].flags.c_contiguous
    assert 0 < loaded["X_train"].mean() < 255


def test_real_subset_loads_unchanged_from_env(data_cache, monkeypatch):
    archive = shared_subset()
    monkeypatch.setenv("HWLIB_CIFAR10", str(archive))
    loaded = load_cifar10(download=False)
    check_real_subset(loaded)
    assert loaded["info"] == {"source": str(archive), "md5": SUBSET_MD5, "official": False}


def test_real_subset_through_the_download_path(data_cache, http_server, monkeypatch, capsys):
    http_server.files["/cifar-10-python.tar.gz"] = shared_subset().read_bytes()
    monkeypatch.setattr(cifar, "CIFAR10_URL", http_server.url("/cifar-10-python.tar.gz"))
    monkeypatch.setattr(cifar, "CIFAR10_MD5", SUBSET_MD5)
    check_real_subset(load_cifar10())
    assert capsys.readouterr().err == ""
    assert (data_cache / "cifar10" / "cifar-10-python.tar.gz").stat().st_size == shared_subset().stat().st_size
