"""Write the API reference's module pages from the package's ``__all__`` lists (no hand-kept lists).

The public modules are ``quotientlearn`` and every module named in ``quotientlearn.__all__``; a
module's public symbols are its ``__all__``. Each symbol gets one page (autosummary writes it from the
templates in ``docs/_templates/autosummary``), at its *canonical* name: the top-level name when
``quotientlearn`` re-exports it (``quotientlearn.simulate``), else the public module where it is
defined. Other modules that list it link to that page, so no object is described twice.
"""

from __future__ import annotations

import importlib
import inspect
import types
from pathlib import Path

PACKAGE = "quotientlearn"
KINDS = (  # (kind, section title), in page order
    ("module", "Modules"),
    ("class", "Classes"),
    ("exception", "Exceptions and warnings"),
    ("function", "Functions"),
    ("data", "Constants"),
)


def public_modules():
    """``quotientlearn`` and the modules its ``__all__`` names, in that order."""
    package = importlib.import_module(PACKAGE)
    names = [PACKAGE] + sorted(
        getattr(package, name).__name__ for name in package.__all__
        if isinstance(getattr(package, name), types.ModuleType))
    return [importlib.import_module(name) for name in names]


def kind_of(obj):
    """One of the KINDS for a public object."""
    if isinstance(obj, types.ModuleType):
        return "module"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    return "data"


def canonical_names(modules):
    """Map ``id(obj)`` to the one full name under which each public object is documented."""
    listed = {}
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if not isinstance(obj, types.ModuleType):
                listed.setdefault(id(obj), []).append((module.__name__, name, obj))
    canonical = {}
    for entries in listed.values():
        top = [e for e in entries if e[0] == PACKAGE]
        home = getattr(entries[0][2], "__module__", None) or ""
        defining = sorted((e for e in entries if home == e[0] or home.startswith(e[0] + ".")),
                          key=lambda e: -len(e[0]))
        module_name, name, obj = (top or defining or entries)[0]
        canonical[id(obj)] = f"{module_name}.{name}"
    return canonical


def _title(text, char="="):
    return f"{text}\n{char * len(text)}\n"


def module_page(module, canonical):
    """The reST source of one module's page."""
    lines = [_title(f"``{module.__name__}``"), f".. automodule:: {module.__name__}", "",
             f".. currentmodule:: {module.__name__}", ""]
    groups = {kind: [] for kind, _ in KINDS}
    for name in sorted(module.__all__, key=str.lower):
        obj = getattr(module, name)
        groups[kind_of(obj)].append((name, obj))
    for kind, title in KINDS:
        own = [n for n, o in groups[kind]
               if kind != "module" and canonical[id(o)] == f"{module.__name__}.{n}"]
        # a module is linked by its name relative to this one (autosummary refuses the full name)
        elsewhere = [o.__name__.removeprefix(module.__name__ + ".") if kind == "module"
                     else "~" + canonical[id(o)] for n, o in groups[kind] if n not in own]
        if not own and not elsewhere:
            continue
        lines += [_title(title, "-")]
        if own:
            lines += [".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
            lines += [f"   {n}" for n in own] + [""]
        if elsewhere:
            if own:
                lines += ["Documented under another name:", ""]
            lines += [".. autosummary::", "   :nosignatures:", ""]
            lines += [f"   {entry}" for entry in elsewhere] + [""]
    return "\n".join(lines)


def write_api_pages(folder):
    """Write ``index.rst`` and one page per public module into ``folder``; return the module names."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    modules = public_modules()
    canonical = canonical_names(modules)
    index = [_title("API reference"),
             "Every public module and every name in its ``__all__``; a name re-exported by several "
             "modules is documented once, under its shortest public name.", "",
             ".. autosummary::", "   :nosignatures:", ""]
    index += [f"   {m.__name__}" for m in modules] + ["", ".. toctree::", "   :hidden:", ""]
    index += [f"   {m.__name__}" for m in modules] + [""]
    _write_if_changed(folder / "index.rst", "\n".join(index))
    for module in modules:
        _write_if_changed(folder / f"{module.__name__}.rst", module_page(module, canonical))
    _remove_stale_pages(folder, modules, canonical)
    return [m.__name__ for m in modules]


def _remove_stale_pages(folder, modules, canonical):
    # Pages of names that left the public API (renamed, moved) would otherwise stay in an existing
    # checkout and break the warnings-as-errors build with references to what no longer exists.
    module_pages = {"index.rst"} | {f"{m.__name__}.rst" for m in modules}
    for page in folder.glob("*.rst"):
        if page.name not in module_pages:
            page.unlink()
    object_pages = {f"{name}.rst" for name in canonical.values()}
    for page in (folder / "generated").glob("*.rst"):
        if page.name not in object_pages:
            page.unlink()


def _write_if_changed(path, text):
    # An unchanged page keeps its time stamp, so Sphinx does not rebuild it.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
