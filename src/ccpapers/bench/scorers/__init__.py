"""Registry home of the benchmark scorers (``ccpapers.registry.SCORERS``)."""

from ccpapers.registry import SCORERS

SCORERS.register("keywords", "ccpapers.bench.scorers.text:KeywordScorer")
SCORERS.register("rouge2", "ccpapers.bench.scorers.text:Rouge2Scorer")
SCORERS.register("mcq-letter", "ccpapers.bench.scorers.text:McqLetterScorer")
SCORERS.register("mcq-loglik", "ccpapers.bench.scorers.text:McqLoglikScorer")
