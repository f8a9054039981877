import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn import datasets, sgd
from quotientlearn.checkpoint import Checkpoint
from quotientlearn.io import load_arrays


def test_save_and_load_restore_arrays_and_rng_state(tmp_path):
    rng = np.random.default_rng(5)
    rng.random(17)
    checkpoint = Checkpoint(tmp_path / "state.npz", fingerprint={"a": 1})
    checkpoint.save(12, rng, theta=np.arange(6.0).reshape(2, 3))
    expected = rng.random(4)
    other = np.random.default_rng(0)
    state = Checkpoint(tmp_path / "state.npz", fingerprint={"a": 1}).load(other)
    assert state["step"] == 12 and not state["finished"]
    np.testing.assert_array_equal(state["arrays"]["theta"], np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(other.random(4), expected)


def test_checkpoint_refuses_another_configuration_and_bad_paths(tmp_path):
    Checkpoint(tmp_path / "state.npz", fingerprint={"lr": 1}).save(1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="another configuration"):
        Checkpoint(tmp_path / "state.npz", fingerprint={"lr": 2}).load(np.random.default_rng(0))
    with pytest.raises(ValueError, match=".npz"):
        Checkpoint(tmp_path / "state.json")
    assert Checkpoint(tmp_path / "missing.npz").load(np.random.default_rng(0)) is None


def _relu_problem():
    model = ql.models.ShallowReLU(3, 16)
    teacher = datasets.relu_teacher(model, 3, 0)
    theta0 = 0.1 * np.random.default_rng(1).standard_normal((3, model.dim))
    return model, sgd.TeacherStudentReLU(model, teacher, 8, 0.1), theta0


def _record(theta):
    return {"norm": np.linalg.norm(theta, axis=-1)}


def test_resume_after_ctrl_c_is_bit_identical(tmp_path):
    # SGD with minibatches and Langevin noise: the future depends on the RNG state, which the
    # checkpoint must restore exactly.
    _, objective, theta0 = _relu_problem()
    kwargs = dict(temperature=1e-4, record=_record, record_every=50)
    reference = sgd.train(objective, theta0, 1e-3, 400, np.random.default_rng(3), **kwargs)

    def interrupting(theta, calls=[0]):  # noqa: B006 - a counter shared across calls
        calls[0] += 1
        if calls[0] == 4:                 # the record at step 150
            os.kill(os.getpid(), signal.SIGINT)
        return _record(theta)

    checkpoint = Checkpoint(tmp_path / "run.npz", every_steps=1000)
    with pytest.raises(KeyboardInterrupt):
        sgd.train(objective, theta0, 1e-3, 400, np.random.default_rng(3), checkpoint=checkpoint,
                  **{**kwargs, "record": interrupting})
    saved = checkpoint.load(np.random.default_rng(0))
    assert 150 <= saved["step"] < 400
    resumed = sgd.train(objective, theta0, 1e-3, 400, np.random.default_rng(99),
                        checkpoint=Checkpoint(tmp_path / "run.npz", every_steps=1000),
                        resume=True, **kwargs)
    assert resumed.resumed_from == saved["step"]
    np.testing.assert_array_equal(resumed.theta, reference.theta)
    np.testing.assert_array_equal(resumed.records["norm"], reference.records["norm"])


class _Killed(Exception):
    pass


def test_resume_after_a_crash_uses_the_last_periodic_checkpoint(tmp_path):
    # A hard kill leaves only the last periodic checkpoint (step 120 here); resuming from it must
    # still reproduce the uninterrupted run exactly.
    _, objective, theta0 = _relu_problem()
    reference = sgd.train(objective, theta0, 1e-3, 300, np.random.default_rng(3), record=_record,
                          record_every=40)

    def crashing(theta, calls=[0]):  # noqa: B006 - a counter shared across calls
        calls[0] += 1
        if calls[0] == 5:                 # the record at step 160, after the save at 120
            raise _Killed
        return _record(theta)

    path = tmp_path / "run.npz"
    with pytest.raises(_Killed):
        sgd.train(objective, theta0, 1e-3, 300, np.random.default_rng(3), record=crashing,
                  record_every=40, checkpoint=Checkpoint(path, every_steps=60))
    assert Checkpoint(path).load(np.random.default_rng(0))["step"] == 120
    resumed = sgd.train(objective, theta0, 1e-3, 300, np.random.default_rng(7), record=_record,
                        record_every=40, checkpoint=Checkpoint(path, every_steps=60), resume=True)
    assert resumed.resumed_from == 120
    np.testing.assert_array_equal(resumed.theta, reference.theta)
    np.testing.assert_array_equal(resumed.records["norm"], reference.records["norm"])


@pytest.mark.slow
def test_cli_interrupted_by_sigint_then_resumed_matches_uninterrupted(tmp_path):
    command = [sys.executable, "-m", "quotientlearn.cli", "run", "relu-balance", "--fast",
               "--set", "n_steps=30000", "--set", "checkpoint_seconds=0.5"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(command + ["--out", str(tmp_path / "a")], check=True, env=env, timeout=120)
    process = subprocess.Popen(command + ["--out", str(tmp_path / "b")], env=env,
                               stderr=subprocess.PIPE, text=True)
    # Interrupt once the training loop has written its first periodic checkpoint.
    checkpoint = tmp_path / "b" / "checkpoints" / "student.npz"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "--resume" in err
    meta = json.loads(str(load_arrays(checkpoint)["__checkpoint_meta__"]))
    assert 0 < meta["step"] < 30_000 and not meta["finished"]
    subprocess.run(command + ["--out", str(tmp_path / "b"), "--resume"], check=True, env=env,
                   timeout=120)
    a, b = load_arrays(tmp_path / "a" / "arrays.npz"), load_arrays(tmp_path / "b" / "arrays.npz")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
