"""Generators (home of the GENERATORS registry): ``source records -> tasks -> records``.

Each generator is versioned; its prompt is versioned package data. Generation itself
is injected: a generator only plans requests and parses replies.
"""

from ccpapers.registry import GENERATORS

GENERATORS.register("qa", "ccpapers.builder.generators.qa:QAGenerator")
GENERATORS.register("mcq", "ccpapers.builder.generators.mcq:MCQGenerator")
GENERATORS.register("rewrite", "ccpapers.builder.generators.rewrite:RewriteGenerator")
GENERATORS.register("translate", "ccpapers.builder.generators.translate:TranslateGenerator")
GENERATORS.register("offline", "ccpapers.builder.generators.offline:OfflineGenerator")
