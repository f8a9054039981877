import json

import pytest

from quotientlearn import experiments
from quotientlearn.cli import main


def test_list_shows_experiments(capsys):
    assert main(["list"]) == 0
    assert "demo" in capsys.readouterr().out


def test_run_with_overrides_writes_report(tmp_path):
    out = tmp_path / "demo"
    assert main(["run", "demo", "--out", str(out), "--set", "temperature=0.2"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["temperature"] == 0.2


def test_unknown_setting_and_experiment_give_clear_errors(capsys, tmp_path):
    assert main(["run", "demo", "--out", str(tmp_path), "--set", "nope=1"]) == 2
    assert "has no setting 'nope'" in capsys.readouterr().err
    assert main(["run", "no-such-thing", "--out", str(tmp_path)]) == 2
    assert "available:" in capsys.readouterr().err


def test_override_parsing_and_type_checks():
    assert experiments.parse_overrides(["a=1", "b=0.5", "c=hello", "d=[1, 2]"]) == {
        "a": 1, "b": 0.5, "c": "hello", "d": [1, 2]}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        experiments.parse_overrides(["novalue"])
    with pytest.raises(ValueError, match="must be a number"):
        experiments.resolve_config("demo", overrides={"temperature": "hot"})


def test_check_command_passes(capsys):
    assert main(["check"]) == 0


def _fake_run(report=None, error=None):
    def run(name, out=None, **kwargs):
        if error is not None:
            raise error
        return {"seconds": 0.1, **(report or {})}

    return run


def test_a_failed_check_exits_1_and_names_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(experiments, "run", _fake_run({"passed": False, "checks": {"fits": False,
                                                                                     "rejects": True}}))
    assert main(["run", "demo", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "checks failed: fits" in err and "rejects" not in err
    monkeypatch.setattr(experiments, "run", _fake_run({"passed": True}))
    assert main(["run", "demo", "--out", str(tmp_path)]) == 0


@pytest.mark.parametrize("with_checkpoint", [False, True])
def test_an_interrupt_promises_a_resume_only_when_there_is_a_checkpoint(monkeypatch, capsys, tmp_path,
                                                                       with_checkpoint):
    if with_checkpoint:
        (tmp_path / "checkpoints").mkdir()
        (tmp_path / "checkpoints" / "student.npz").write_bytes(b"x")
    monkeypatch.setattr(experiments, "run", _fake_run(error=KeyboardInterrupt()))
    assert main(["run", "relu-balance", "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ("--resume" in err) == with_checkpoint and ("nothing to resume" in err) != with_checkpoint


def test_user_errors_are_one_line_with_exit_code_2(monkeypatch, capsys, tmp_path):
    from quotientlearn.dynamics import DivergenceError

    cases = {DivergenceError(3, 0.5, 0.1, 2, 4): "the run diverged", MemoryError(): "out of memory",
             PermissionError(13, "Permission denied"): "Permission denied"}
    for error, words in cases.items():
        monkeypatch.setattr(experiments, "run", _fake_run(error=error))
        assert main(["run", "demo", "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("quotientlearn: error:") and words in err
    monkeypatch.setattr(experiments, "run", _fake_run(error=RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):  # a bug keeps its traceback
        main(["run", "demo", "--out", str(tmp_path)])


def test_argument_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "demo", "--seeds", "x"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid int value" in err and "usage" not in err


def test_a_second_process_on_the_same_out_is_refused(capsys, tmp_path):
    from quotientlearn.io import claim_folder

    with claim_folder(tmp_path):
        assert main(["run", "demo", "--out", str(tmp_path)]) == 2
    assert "in use by another quotientlearn process" in capsys.readouterr().err
