"""Registry home of the benchmark suites (``ccpapers.registry.SUITES``).

Each entry is a :class:`SuiteEntry`: it builds its :class:`Suite` from a ``BenchConfig``
(``from_config``) and declares what it needs and is (``needs_build``, ``forgetting_check``),
so callers test those, never a suite's name.
"""

from ccpapers.bench.suites.base import (
    DEFAULT_VARIANT_ORDER,
    Document,
    Question,
    Suite,
    SuiteEntry,
    SuiteError,
)
from ccpapers.registry import SUITES

SUITES.register("fictional", "ccpapers.bench.suites.fictional:FictionalSuite")
SUITES.register("papers", "ccpapers.bench.suites.papers:PapersSuite")
SUITES.register("mmlu", "ccpapers.bench.suites.mmlu:MmluSuite")

__all__ = [
    "DEFAULT_VARIANT_ORDER",
    "Document",
    "Question",
    "Suite",
    "SuiteEntry",
    "SuiteError",
]
