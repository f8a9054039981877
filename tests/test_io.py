import json

import numpy as np

from quotientlearn.io import load_arrays, save_arrays, write_json


def test_write_json_is_atomic_and_serialises_numpy(tmp_path):
    path = tmp_path / "sub" / "report.json"
    write_json(path, {"a": np.float64(1.5), "b": np.arange(3), "c": float("inf")})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [0, 1, 2], "c": "inf"}
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_arrays_roundtrip(tmp_path):
    save_arrays(tmp_path / "x.npz", theta=np.ones((2, 3)), seeds=np.arange(2))
    loaded = load_arrays(tmp_path / "x.npz")
    np.testing.assert_array_equal(loaded["theta"], np.ones((2, 3)))


def test_files_keep_the_users_umask(tmp_path):
    import os

    previous = os.umask(0o027)
    try:
        write_json(tmp_path / "a.json", {})
        save_arrays(tmp_path / "b.npz", x=np.ones(2))
    finally:
        os.umask(previous)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "b.npz").stat().st_mode & 0o777 == 0o640


def test_corrupt_files_are_refused_clearly(tmp_path):
    import pytest

    from quotientlearn.io import CorruptFileError

    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(CorruptFileError, match="is empty"):
        load_arrays(tmp_path / "empty.npz")
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(CorruptFileError, match="not an .npz archive") as info:
        load_arrays(tmp_path / "text.npz")
    assert "allow_pickle" not in str(info.value)  # numpy's hint would mislead
    save_arrays(tmp_path / "cut.npz", x=np.ones((50, 50)))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "cut.npz").read_bytes()[:300])
    with pytest.raises(CorruptFileError, match="truncated"):
        load_arrays(tmp_path / "cut.npz")


def test_claim_folder_locks_and_removes_stale_temporaries(tmp_path):
    import pytest

    from quotientlearn.io import FolderError, claim_folder

    stale = tmp_path / ".report.json.abc.qltmp"
    stale.write_bytes(b"partial")
    (tmp_path / "run2").mkdir()
    other = tmp_path / "run2" / ".x.qltmp"  # another run's folder is not ours to clean
    other.write_bytes(b"")
    with claim_folder(tmp_path) as removed:
        assert removed == [stale] and not stale.exists() and other.exists()
        with pytest.raises(FolderError, match="in use"), claim_folder(tmp_path):
            pass
    with claim_folder(tmp_path):  # released on exit
        pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(FolderError, match="existing file"), claim_folder(tmp_path / "file"):
        pass
    with pytest.raises(FolderError, match="under a file"), claim_folder(tmp_path / "file" / "out"):
        pass
