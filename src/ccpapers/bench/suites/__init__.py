"""Registry home of the benchmark suites (``ccpapers.registry.SUITES``).

Each suite is a function taking keyword arguments and returning a :class:`Suite`.
"""

from ccpapers.bench.suites.base import DEFAULT_VARIANT_ORDER, Document, Question, Suite, SuiteError
from ccpapers.registry import SUITES

SUITES.register("fictional", "ccpapers.bench.suites.fictional:load_fictional")
SUITES.register("papers", "ccpapers.bench.suites.papers:load_papers")
SUITES.register("mmlu", "ccpapers.bench.suites.mmlu:load_mmlu")

__all__ = ["DEFAULT_VARIANT_ORDER", "Document", "Question", "Suite", "SuiteError"]
