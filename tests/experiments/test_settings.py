"""The declared schema of experiment settings: every setting declared, defaults valid, errors named."""

import re

import pytest

from quotientlearn import experiments
from quotientlearn.experiments.settings import Setting, SettingError, declared, validate_config


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_every_setting_is_declared_and_the_defaults_are_valid(name):
    module = experiments.get(name)
    undeclared = sorted(set(module.CONFIG) - set(declared(name)))
    assert not undeclared, f"declare {undeclared} in quotientlearn/experiments/settings.py"
    assert set(module.FAST) <= set(module.CONFIG)
    assert validate_config(module.CONFIG, name, module.CONFIG) == experiments.resolve_config(name)
    experiments.resolve_config(name, fast=True)


@pytest.mark.parametrize("key, value, words", [
    ("dt", 0, "must be a number > 0"),
    ("dt", "a", "must be a number"),
    ("dt", float("nan"), "finite"),
    ("seed", 1.5, "must be an integer"),
    ("seed", True, "must be an integer"),
    ("seeds", 0, "integer >= 1"),
    ("orbits", 5, "must be a list"),
    ("orbits", [], "must be a list"),
    ("orbits", [1.0, "a"], "orbits[1] must be a number"),
    ("check_window", [2.0, 1.0], "increasing"),
    ("check_window", [1.0, 2.0, 3.0], "a list of 2"),
    ("instance", "paperr", "one of 'random', 'paper'"),
    ("ablation", 1, "True or False"),
    ("n_particles", 10**12, "<= 1e+08"),
    ("observed_fraction", 1.5, "<= 1"),
])
def test_bad_values_name_the_setting(key, value, words):
    with pytest.raises(SettingError, match=rf"^{re.escape(key)}(\[\d+\])? must be") as info:
        validate_config({key: value})
    assert words in str(info.value)


def test_values_are_coerced_and_relations_checked():
    assert validate_config({"dt": 1, "n_steps": 1e4, "orbits": (1, 2)}) == {
        "dt": 1.0, "n_steps": 10_000, "orbits": [1.0, 2.0]}
    with pytest.raises(SettingError, match="low must be < high"):
        validate_config({"low": 2.0, "high": 1.0})
    with pytest.raises(SettingError, match="has no setting 'nope'"):
        validate_config({"nope": 1}, "demo", known=("dt",))
    with pytest.raises(SettingError, match="not declared"):
        validate_config({"nope": 1})
    assert Setting("list", element="int", minimum=0).describe() == "a list of integers >= 0"


def test_resolve_config_uses_the_schema_for_overrides_and_seeds():
    assert experiments.resolve_config("hyperbola", seeds=2)["seeds"] == 2
    with pytest.raises(SettingError, match="^seeds must be"):
        experiments.resolve_config("hyperbola", seeds=0)
    with pytest.raises(SettingError, match="^label_noise must be"):
        experiments.resolve_config("hyperbola", overrides={"label_noise": -1})
