"""The declared, typed schema of experiment settings: type, range, scalar or list, for every name.

A setting name means the same thing in every experiment (``lr`` is always a positive step size,
``seeds`` a number of independent runs), so the schema is one table keyed by name (:data:`SETTINGS`),
with per-experiment exceptions (:data:`EXPERIMENT_SETTINGS`) for the rare name that means something else
in one experiment. :func:`validate_config`
checks a whole configuration against it — the defaults, ``--set`` overrides and sweep grids all go
through it — and refuses a wrong type, a value out of range or a list where a scalar belongs (and vice
versa) with one :class:`SettingError` naming the setting. Every key of every experiment's ``CONFIG``
must be declared here (a test checks it).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["EXPERIMENT_SETTINGS", "RELATIONS", "SETTINGS", "Setting", "SettingError", "declared",
           "validate_config", "validate_setting"]


class SettingError(ValueError):
    """An experiment setting of the wrong type, out of range, unknown, or inconsistent with another.

    Examples
    --------
    >>> from quotientlearn import experiments
    >>> try:
    ...     experiments.resolve_config("demo", overrides={"dt": 0})
    ... except experiments.SettingError as error:
    ...     print(error)
    dt must be a number > 0; got 0.0 (a setting of experiment 'demo')
    """


@dataclass(frozen=True)
class Setting:
    """The type and range of one setting.

    Attributes
    ----------
    kind : {"int", "float", "bool", "str", "list"}
    minimum, maximum : float, optional
        Bounds of a number (or of every element of a list); ``minimum`` is exclusive when
        ``exclusive`` is True.
    exclusive : bool
    choices : tuple of str, optional
        Allowed values of a string.
    element : {"int", "float"}, optional
        The kind of a list's elements.
    length : int, optional
        Required length of a list.
    increasing : bool
        A list must be strictly increasing.
    empty : bool
        A list may be empty (the part it sizes is skipped).
    help : str
        One line for the user.

    Examples
    --------
    >>> from quotientlearn.experiments import Setting
    >>> steps = Setting("int", minimum=1, help="training steps")
    >>> steps.describe()
    'an integer >= 1'
    >>> steps.check(2000.0, "n_steps")  # an integral float is taken as an int
    2000
    """

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False
    choices: tuple | None = None
    element: str | None = None
    length: int | None = None
    increasing: bool = False
    empty: bool = False
    help: str = ""

    def describe(self):
        """A short phrase: ``"an integer >= 1"``, ``"a list of numbers > 0"``."""
        if self.kind == "list":
            text = f"a list of {self._number_phrase(self.element, plural=True)}"
            if self.length is not None:
                text = f"a list of {self.length} {self._number_phrase(self.element, plural=True)}"
            return (text + (", increasing" if self.increasing else "")
                    + (" (may be empty)" if self.empty else ""))
        if self.kind == "bool":
            return "True or False"
        if self.kind == "str":
            return "one of " + ", ".join(map(repr, self.choices)) if self.choices else "a string"
        return self._number_phrase(self.kind)

    def _number_phrase(self, kind, plural=False):
        noun = {"int": "integer", "float": "number"}[kind] + ("s" if plural else "")
        bounds = []
        if self.minimum is not None:
            bounds.append(f"{'>' if self.exclusive else '>='} {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        return f"{'' if plural else 'an ' if kind == 'int' else 'a '}{noun}" + (
            " " + " and ".join(bounds) if bounds else "")

    def check(self, value, name):
        """``value`` coerced to this setting's type (ints to floats, tuples to lists).

        Raises
        ------
        SettingError
            On a wrong type or a value out of range.
        """
        if self.kind == "list":
            if not isinstance(value, list | tuple):
                raise SettingError(f"{name} must be {self.describe()}; got {value!r}")
            items = [self._number(item, f"{name}[{i}]", self.element) for i, item in enumerate(value)]
            if (not items and not self.empty) or (self.length is not None
                                                  and len(items) != self.length):
                raise SettingError(f"{name} must be {self.describe()}; got {value!r}")
            if self.increasing and any(b <= a for a, b in zip(items, items[1:], strict=False)):
                raise SettingError(f"{name} must be increasing; got {value!r}")
            return items
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise SettingError(f"{name} must be True or False; got {value!r}")
            return value
        if self.kind == "str":
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise SettingError(f"{name} must be {self.describe()}; got {value!r}")
            return value
        return self._number(value, name, self.kind)

    def _number(self, value, name, kind):
        noun = "an integer" if kind == "int" else "a number"
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise SettingError(f"{name} must be {noun}; got {value!r}")
        if not math.isfinite(value):
            raise SettingError(f"{name} must be a finite number; got {value!r}")
        if kind == "int":
            if not float(value).is_integer():
                raise SettingError(f"{name} must be an integer; got {value!r}")
            value = int(value)
        else:
            value = float(value)
        low_ok = self.minimum is None or (value > self.minimum if self.exclusive else value >= self.minimum)
        if not low_ok or (self.maximum is not None and value > self.maximum):
            raise SettingError(f"{name} must be {self._number_phrase(kind)}; got {value!r}")
        return value


def _count(help, minimum=1, maximum=None):
    return Setting("int", minimum=minimum, maximum=maximum, help=help)


def _positive(help, maximum=None):
    return Setting("float", minimum=0.0, exclusive=True, maximum=maximum, help=help)


def _non_negative(help):
    return Setting("float", minimum=0.0, help=help)


def _real(help):
    return Setting("float", help=help)


def _fraction(help):
    return Setting("float", minimum=0.0, exclusive=True, maximum=1.0, help=help)


#: Largest sizes accepted for counts that set array sizes: above these a run would need more memory
#: than any single machine has, and numpy would fail (or the system kill the process) mid-run.
_SIZE = 10**7
_PARTICLES = 10**8
_STEPS = 10**10

#: Every setting of every experiment, by name.
SETTINGS = {
    # runs, seeds and sizes
    "seeds": _count("number of independent seeds, run vectorised", maximum=10**5),
    "seed": _count("base seed of the random streams", minimum=0),
    "n_particles": _count("independent particles per simulation", maximum=_PARTICLES),
    "check_particles": _count("particles of the inverse-design check", maximum=_PARTICLES),
    "n_steps": _count("training or simulation steps", maximum=_STEPS),
    "ablation_n_steps": _count("steps of each noise-ablation run", maximum=_STEPS),
    "check_steps": _count("steps of the inverse-design check", maximum=_STEPS),
    "record_every": _count("steps between two records", maximum=_STEPS),
    "burn_in": _count("steps discarded before measuring", minimum=0, maximum=_STEPS),
    "initial_step": _count("step of the 'initial' snapshot", minimum=0, maximum=_STEPS),
    "batch_size": _count("minibatch size", maximum=_SIZE),
    "ablation_batch_size": _count("minibatch size of the SGD ablation", maximum=_SIZE),
    "n_samples": _count("training samples", maximum=_SIZE),
    "n_train": _count("training samples", maximum=_SIZE),
    "n_features": _count("features (signal length)", maximum=_SIZE),
    "n_measurements": _count("measurements", maximum=_SIZE),
    "n_nonzero": _count("non-zero coefficients of the truth", maximum=_SIZE),
    "n_reference": _count("reference points of the design fit", maximum=_SIZE),
    "n_held_out": _count("held-out points of the design fit", maximum=_SIZE),
    "dim": _count("dimension of the designed model", maximum=10**4),
    "check_dim": _count("dimension of the inverse-design check", maximum=10**4),
    "size": _count("matrix size (rows = columns)", minimum=2, maximum=10**5),
    "d_in": _count("input dimension", maximum=10**5),
    "width": _count("hidden neurons", maximum=10**6),
    "seq_len": _count("sequence length", maximum=10**5),
    "d_emb": _count("embedding dimension", maximum=10**5),
    "d_head": _count("head dimension", maximum=10**5),
    "mf_grid": _count("grid points per axis of the matrix-factorisation prediction", minimum=3,
                      maximum=10**4),
    "starts": _count("random starts of the design fit", maximum=10**4),
    "ablation_starts": _count("random starts of the design ablation", minimum=0, maximum=10**4),
    "sweep_dims": Setting("list", element="int", minimum=2, maximum=10**4, increasing=True,
                          help="sizes d of the inverse-design size sweep"),
    "sweep_seeds": _count("hidden bases per size of the size sweep", maximum=10**4),
    "sweep_starts": _count("random starts per hidden basis of the size sweep", maximum=10**4),
    "reference_per_dim": _count("reference points per dimension in the size sweep", maximum=10**4),
    "classical_samples_per_dim": _count("FastICA samples per dimension in the size sweep",
                                        maximum=10**5),
    "values_dims": Setting("list", element="int", minimum=2, maximum=10**4, increasing=True,
                           empty=True, help="sizes at which the variance objective also runs"),
    "family_dims": Setting("list", element="int", minimum=2, maximum=10**4, increasing=True,
                           empty=True, help="sizes of the other design families at scale"),
    "family_starts": _count("random starts per family and size", maximum=10**4),
    # step sizes, horizons, temperatures
    "lr": _positive("learning rate"),
    "vanilla_lr": _positive("learning rate of the plain model"),
    "designed_lr": _positive("learning rate of the designed model"),
    "dt": _positive("time step"),
    "mf_dt": _positive("time step of the matrix-factorisation cases"),
    "check_dt": _positive("time step of the inverse-design check"),
    "time": _positive("simulated time"),
    "mf_time": _positive("simulated time of the matrix-factorisation cases"),
    "temperature": _non_negative("temperature T"),
    "check_temperature": _non_negative("temperature of the inverse-design check"),
    "ablation_temperatures": Setting("list", element="float", minimum=0.0,
                                     help="temperatures of the Langevin ablation"),
    "checkpoint_seconds": _positive("wall time between two checkpoints"),
    # noise and initial scales
    "noise": _non_negative("observation noise standard deviation"),
    "label_noise": _non_negative("label-noise standard deviation"),
    "ablation_label_noise": _non_negative("label noise of the ablation"),
    "teacher_std": _positive("teacher weight scale"),
    "student_std": _positive("student initial scale"),
    "init_std": _positive("initial scale"),
    "vanilla_init_std": _positive("initial scale of the plain model"),
    "designed_init_std": _positive("initial scale of the designed model"),
    "ablation_init_std": _positive("initial scale of the ablation"),
    "p_std": _positive("initial scale of P"),
    "q_std": _positive("initial scale of Q"),
    "scale_spread": _non_negative("spread of the per-unit initial imbalance (log scale)"),
    "teacher_gain_base": _non_negative("teacher column gain, base"),
    "teacher_gain_slope": _non_negative("teacher column gain, slope"),
    "student_gain_base": _positive("student column gain, base"),
    "student_gain_slope": _non_negative("student column gain, slope"),
    # problem definitions
    "orbits": Setting("list", element="float", minimum=0.0, exclusive=True,
                      help="conserved charges u^2 - v^2 ... of the hyperbola runs"),
    "target": _real("regression target y"),
    "u0": _real("initial u"),
    "v0": _real("initial v"),
    "singular_value_1": _positive("first singular value of the truth"),
    "singular_value_2": _positive("second singular value of the truth"),
    "observed_fraction": _fraction("fraction of observed entries"),
    "step_fraction": _fraction("fraction of the observed entries used per step"),
    "mask_sampling": Setting("str", choices=("exact", "bernoulli"), help="how the mask is drawn"),
    "instance": Setting("str", choices=("random", "paper"), help="random instance or the paper's data"),
    "l1": _non_negative("l1 penalty of the baseline"),
    "support_threshold": _non_negative("threshold for counting a coefficient as non-zero"),
    "ablation": Setting("bool", help="also run the noise ablation"),
    "reference_keep": _fraction("fraction of Gaussian proposals kept as reference points"),
    "classical_sparsity": _fraction("probability that a coefficient of the FastICA samples is non-zero"),
    "solver": Setting("str", choices=("steepest-descent", "conjugate-gradient", "trust-regions"),
                      help="pymanopt solver of the design fit"),
    "success_tolerance": _positive("design-fit success tolerance"),
    "check_window": Setting("list", element="float", length=2, increasing=True,
                            help="window [low, high] of the inverse-design check"),
    "low": _real("lower end of the test window"),
    "high": _real("upper end of the test window"),
    "alpha": Setting("float", minimum=0.0, exclusive=True, maximum=0.5,
                     help="significance level of the tests"),
    "cases": Setting("str", help="'all' or ';'-separated case names"),
}

#: Settings whose name means something else in one experiment, by experiment.
EXPERIMENT_SETTINGS = {
    "bias-strength": {
        "noise": Setting("str", choices=("isotropic", "horizontal", "label"), help="noise model"),
        "gauge_fixing": Setting("bool", help="project onto the gauge slice after every step"),
    },
}

#: Relations between settings, checked when both are present: ``(a, op, b)`` means ``a op b``.
RELATIONS = (
    ("low", "<", "high"),
    ("burn_in", "<", "n_steps"),
    ("initial_step", "<=", "n_steps"),
    ("record_every", "<=", "n_steps"),
    ("n_nonzero", "<=", "n_features"),
    ("n_nonzero", "<=", "dim"),
    ("batch_size", "<=", "n_train"),
    ("batch_size", "<=", "n_samples"),
    ("ablation_batch_size", "<=", "n_train"),
    ("ablation_batch_size", "<=", "n_measurements"),
)

_OPERATORS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def declared(experiment=None):
    """The declarations that apply to ``experiment``: :data:`SETTINGS` with its own overrides."""
    return {**SETTINGS, **EXPERIMENT_SETTINGS.get(experiment, {})}


def validate_setting(key, value, experiment=None):
    """One setting's value, checked and coerced against its declaration.

    Raises
    ------
    SettingError
        If ``key`` is not declared or ``value`` does not fit its declaration.

    Examples
    --------
    >>> from quotientlearn.experiments.settings import validate_setting
    >>> validate_setting("seeds", 8.0)
    8
    """
    settings = declared(experiment)
    if key not in settings:
        raise SettingError(f"setting {key!r} is not declared in quotientlearn.experiments.settings")
    return settings[key].check(value, key)


def validate_config(config, experiment=None, known=None):
    """A whole configuration, checked and coerced: every value, then the relations between them.

    Parameters
    ----------
    config : dict
        ``name -> value``.
    experiment : str, optional
        Quoted in errors.
    known : iterable of str, optional
        The experiment's setting names; a key outside them is refused (with the list).

    Returns
    -------
    config : dict
        A new dict with coerced values (ints as floats where a number is declared, tuples as lists).

    Raises
    ------
    SettingError
        Naming the first offending setting.

    Examples
    --------
    >>> from quotientlearn.experiments import SettingError, validate_config
    >>> validate_config({"lr": 1, "n_steps": 2000.0, "orbits": (0.5, 1)})
    {'lr': 1.0, 'n_steps': 2000, 'orbits': [0.5, 1.0]}
    >>> try:
    ...     validate_config({"burn_in": 500, "n_steps": 100})
    ... except SettingError as error:
    ...     print(error)
    burn_in must be < n_steps; got burn_in=500, n_steps=100
    """
    where = f"experiment {experiment!r}" if experiment else "the configuration"
    if not isinstance(config, dict):
        raise SettingError(f"{where} must be a dict of settings; got {type(config).__name__}")
    if known is not None:
        known = set(known)
        unknown = sorted(set(config) - known)
        if unknown:
            raise SettingError(f"{where} has no setting {unknown[0]!r}; settings: {', '.join(sorted(known))}")
    checked = {}
    for key, value in config.items():
        try:
            checked[key] = validate_setting(key, value, experiment)
        except SettingError as exc:
            raise SettingError(f"{exc} (a setting of {where})" if experiment else str(exc)) from None
    for first, op, second in RELATIONS:
        if first in checked and second in checked and not _OPERATORS[op](checked[first], checked[second]):
            context = f" (settings of {where})" if experiment else ""
            raise SettingError(f"{first} must be {op} {second}; got {first}={checked[first]!r}, "
                               f"{second}={checked[second]!r}{context}")
    return checked
