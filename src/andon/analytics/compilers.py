"""Ibis's SQL compilers, imported one at a time as backends ask for them.

Ibis 12 imports every one of its twenty SQL compilers (Athena, BigQuery, Oracle, ...) the
first time any backend loads, through the ``ibis.backends.sql.compilers`` package: about
0.15 s and 48 MB of each command-line analysis, which needs DuckDB's alone (PostgreSQL's or
Spark's with ``--engine``). :func:`import_lazily` puts that package in place without running
its ``__init__``, so ``ibis.backends.sql.compilers.duckdb`` and the like import on their own;
asking the package for anything else (``PostgresCompiler``, ``__all__``) runs the real
``__init__`` first, so every name Ibis has resolves as before.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

PACKAGE = "ibis.backends.sql.compilers"


def import_lazily() -> None:
    """Register the lazy package unless the compilers are already imported (idempotent)."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # not the package layout this was written for: leave Ibis as it is
    package = importlib.util.module_from_spec(spec)
    loaded = False

    def __getattr__(name: str) -> Any:  # noqa: N807 (PEP 562's module hook)
        nonlocal loaded
        if not name.startswith("__"):
            try:
                return importlib.import_module(f"{PACKAGE}.{name}")
            except ModuleNotFoundError as error:
                if error.name != f"{PACKAGE}.{name}":
                    raise
        if loaded:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
        loaded = True
        assert spec.loader is not None
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[PACKAGE] = package
    parent: Any = importlib.import_module(PACKAGE.rpartition(".")[0])
    parent.compilers = package
