"""ccpapers: knowledge-injection datasets from Creative-Commons papers, and a benchmark."""

__version__ = "0.1.0"
