import json
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn import data, datasets


@pytest.mark.parametrize("name", data.PAPER_RUNS)
def test_every_saved_run_loads_with_the_shapes_its_metadata_states(name):
    run = data.paper_run(name)
    meta = json.loads(resources.files("quotientlearn.data").joinpath("paper/meta.json").read_text())
    shapes = {key: list(value.shape) for key, value in run.arrays.items()}
    assert meta[name]["arrays"].items() <= shapes.items()
    assert run.config["seed"] == int(meta[name]["config"]["seed"])
    assert "a540b16" in run.source and meta[name]["source_file"] in run.source
    with pytest.raises(ValueError, match="read-only"):
        next(iter(run.arrays.values()))[...] = 0


def test_cli_names_are_accepted_and_unknown_names_refused():
    assert data.paper_run("tv-recovery") is data.paper_run("tv_recovery")
    with pytest.raises(ValueError, match="available"):
        data.paper_run("hyperbola")


def test_configuration_values_are_parsed_as_the_authors_stored_them():
    config = data.paper_run("matrix_completion").config
    assert config["true_sigma"] == (15.0, 5.0) and config["learning_rate"] == 1e-3
    assert config["device"] == "auto"
    assert data.paper_run("tv_recovery").config["num_steps_for_acc"] == 1_500_000


def test_licence_notice_ships_with_the_arrays():
    licence = data.paper_licence()
    assert licence.startswith("MIT License") and "Ballarin" in licence
    assert "Permission is hereby granted" in licence


def test_wheel_package_data_covers_every_shipped_file():
    # The wheel includes what pyproject's package-data globs name: every file in data/paper must match.
    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["quotientlearn.data"]
    shipped = [p.relative_to(root / "quotientlearn" / "data").as_posix()
               for p in (root / "quotientlearn" / "data" / "paper").iterdir()]
    assert len(shipped) == 8
    assert all(any(fnmatch(name, g) for g in globs) for name in shipped), (shipped, globs)


def test_paper_instances_reproduce_the_papers_own_figures():
    # The authors' trained vectors, evaluated on their own instance, give the paper's numbers.
    run = data.paper_run("spectral_sparsity").arrays
    problem = datasets.paper_spectral_regression(3)
    assert problem.features.shape == (3, 32, 64) and problem.features.dtype == np.float64
    assert np.array_equal(problem.truth[2], run["w_true"].astype(float))
    mse = datasets.cosine_test_mse(np.stack([run["w_naive_ur"], run["w_naive_rr"],
                                             run["w_hadamard_ur"]]), run["w_true"])
    np.testing.assert_allclose(mse, [2.5355, 0.0534, 0.0226], atol=5e-5)
    sensing = datasets.paper_sensing(2)
    assert sensing.sensing.shape == (2, 60, 200) and datasets.total_variation(sensing.truth) == 6.0
    tv = data.paper_run("tv_recovery").arrays
    assert datasets.total_variation(tv["w_simple"].astype(float)) == pytest.approx(129.57, abs=0.01)


def test_data_is_part_of_the_public_namespace():
    assert ql.data.paper_run is data.paper_run
