"""Argument checks at the public boundary: one clear ``TypeError`` or ``ValueError`` naming the argument.

A wrong *type* (a string, ``None``, a complex number, an array where a number is expected, ``True``
where a count is expected, ``1.5`` where an integer is expected) raises ``TypeError``; a value of the
right type outside its range (``dt = 0``, a negative temperature, NaN) raises ``ValueError``. Every
message starts with the argument's name and shows what was passed.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

__all__ = ["available_memory", "check_memory", "choice", "integer", "non_negative", "positive",
           "positive_int", "real", "real_array", "rng_from_seed", "temperature"]


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(value):
    """Unwrap a 0-d numpy array to its item; other values are returned unchanged."""
    if isinstance(value, np.ndarray) and value.shape == ():
        return value.item()
    return value


def integer(value, name, minimum=None, maximum=None):
    """``value`` as an ``int``.

    Integral floats (``1e4``) are accepted; ``bool``, non-integral floats, strings, ``None`` and
    arrays are not.

    Parameters
    ----------
    value : object
    name : str
        The argument's name, quoted in the error.
    minimum, maximum : int, optional
        Inclusive bounds.

    Returns
    -------
    value : int

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it lies outside ``[minimum, maximum]``.
    """
    raw = _scalar(value)
    if isinstance(raw, bool | np.bool_):
        raise TypeError(f"{name} must be an integer; got the boolean {raw!r}")
    if isinstance(raw, numbers.Integral):
        number = int(raw)
    elif isinstance(raw, numbers.Real) and math.isfinite(raw) and float(raw).is_integer():
        number = int(raw)
    else:
        raise TypeError(f"{name} must be an integer; got {_describe(value)}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be {_integer_range(minimum, maximum)}; got {number}")
    return number


def _integer_range(minimum, maximum):
    names = {0: "a non-negative integer", 1: "a positive integer"}
    text = names.get(minimum, "an integer" if minimum is None else f"an integer >= {minimum}")
    return text if maximum is None else f"{text} at most {maximum}"


def real(value, name, minimum=None, maximum=None, exclusive_minimum=False, allow_inf=False):
    """``value`` as a finite ``float`` (or ``inf`` when allowed).

    Parameters
    ----------
    value : object
    name : str
    minimum, maximum : float, optional
        Bounds (inclusive, except ``minimum`` with ``exclusive_minimum``).
    exclusive_minimum : bool
        Require ``value > minimum``.
    allow_inf : bool
        Accept ``+inf`` (never NaN).

    Returns
    -------
    value : float

    Raises
    ------
    TypeError
        If ``value`` is not a real number (``bool``, complex, string, ``None``, an array).
    ValueError
        If it is NaN, infinite (unless allowed) or out of range.
    """
    raw = _scalar(value)
    if isinstance(raw, bool | np.bool_) or not isinstance(raw, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {_describe(value)}")
    number = float(raw)
    bad = math.isnan(number) or (math.isinf(number) and not (allow_inf and number > 0))
    bad |= minimum is not None and (number <= minimum if exclusive_minimum else number < minimum)
    bad |= maximum is not None and number > maximum
    if bad:
        raise ValueError(f"{name} must be {_real_range(minimum, maximum, exclusive_minimum, allow_inf)}; "
                         f"got {number:g}")
    return number


def _real_range(minimum, maximum, exclusive_minimum, allow_inf):
    parts = ["finite or +inf" if allow_inf else "finite"]
    if minimum == 0 and maximum is None:
        parts.append("positive" if exclusive_minimum else "non-negative")
    else:
        if minimum is not None:
            parts.append(f"{'greater than' if exclusive_minimum else 'at least'} {minimum:g}")
        if maximum is not None:
            parts.append(f"at most {maximum:g}")
    return " and ".join(parts)


def positive(value, name):
    """``value`` as a finite positive ``float`` (see :func:`real`)."""
    return real(value, name, minimum=0.0, exclusive_minimum=True)


def non_negative(value, name):
    """``value`` as a finite non-negative ``float`` (see :func:`real`)."""
    return real(value, name, minimum=0.0)


def positive_int(value, name, allow_zero=False):
    """``value`` as a positive (or, with ``allow_zero``, non-negative) ``int`` (see :func:`integer`)."""
    return integer(value, name, minimum=0 if allow_zero else 1)


def temperature(value, name="temperature"):
    """A finite, non-negative temperature as a ``float`` (see :func:`real`)."""
    return real(value, name, minimum=0.0)


def rng_from_seed(seed, name="seed"):
    """A ``numpy.random.Generator`` from a seed (SPEC 7).

    Parameters
    ----------
    seed : None, int >= 0, sequence of int >= 0, numpy.random.Generator or SeedSequence
        A generator is returned as it is (its state is shared, not copied).
    name : str

    Returns
    -------
    rng : numpy.random.Generator

    Raises
    ------
    TypeError
        On any other type (a float such as ``1.5``, a string, ``True``).
    ValueError
        On a negative integer.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence | np.random.BitGenerator):
        return np.random.default_rng(seed)
    raw = _scalar(seed)
    if isinstance(raw, list | tuple | np.ndarray) and len(raw) and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool | np.bool_) for s in raw):
        # A sequence of entropy words, e.g. [seed, stream]: numpy's way to spawn independent streams.
        return np.random.default_rng([integer(s, f"{name}[{i}]", minimum=0) for i, s in enumerate(raw)])
    if isinstance(raw, bool | np.bool_) or not isinstance(raw, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer (or a sequence of them), a numpy "
                        f"Generator or None; got {_describe(seed)}")
    return np.random.default_rng(integer(raw, name, minimum=0))


def choice(value, name, options):
    """``value`` after checking it is one of ``options`` (strings).

    Raises
    ------
    TypeError
        If ``value`` is not a string.
    ValueError
        If it is not one of ``options``.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, options))}; got {_describe(value)}")
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, options))}")
    return value


def real_array(array, name):
    """``array`` as a float64 ndarray; complex, boolean, string, object or ragged input is a ``TypeError``.

    Parameters
    ----------
    array : array_like
    name : str

    Returns
    -------
    array : ndarray
        float64 (the input itself when it already is a float64 ndarray).
    """
    if isinstance(array, np.ndarray) and array.dtype == np.float64:
        return array
    try:
        converted = np.asarray(array)
    except ValueError as exc:  # ragged nested sequences
        raise TypeError(f"{name} must be a real array; got a ragged sequence ({exc})") from None
    kind = converted.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real; got complex values (take .real explicitly if you "
                        "mean to drop the imaginary part)")
    if kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers; got dtype {converted.dtype}")
    return converted.astype(float, copy=False)


def available_memory():
    """Bytes a new allocation can use: the smaller of ``MemAvailable`` and the cgroup limit (Linux).

    Returns
    -------
    n_bytes : int or None
        ``None`` where neither can be read.
    """
    limits = []
    try:
        with open("/proc/meminfo") as stream:
            limits += [int(line.split()[1]) * 1024 for line in stream if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as stream:
            text = stream.read().strip()
        if text.isdigit():
            limits.append(int(text))
    except OSError:
        pass
    if not limits:
        try:
            limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return min(limits)


def check_memory(n_bytes, what):
    """Refuse, before allocating, a computation that needs more memory than is available.

    Parameters
    ----------
    n_bytes : int
        A lower bound of what the computation needs.
    what : str
        The sizes responsible, quoted in the error (e.g. ``"n_particles = 10^9 with D = 100"``).

    Raises
    ------
    ValueError
        Naming ``what``, the bytes needed and the bytes available. (A ``MemoryError`` from numpy, or
        the system killing the process, would come only after minutes of work, or not at all.)
    """
    available = available_memory()
    if available is not None and n_bytes > available:
        raise ValueError(f"{what} needs at least {n_bytes / 2**30:.3g} GiB of memory but "
                         f"{available / 2**30:.3g} GiB are available; reduce it")
