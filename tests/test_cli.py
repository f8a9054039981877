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
