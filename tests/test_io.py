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
