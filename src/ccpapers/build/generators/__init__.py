"""Generators (home of the GENERATORS registry): ``source records -> tasks -> records``.

Each generator is versioned; its prompt is versioned package data. Generation itself
is injected: a generator only plans requests and parses replies.
"""

from ccpapers.registry import GENERATORS

GENERATORS.register("qa", "ccpapers.build.generators.qa:QAGenerator")
GENERATORS.register("mcq", "ccpapers.build.generators.mcq:MCQGenerator")
GENERATORS.register("rewrite", "ccpapers.build.generators.rewrite:RewriteGenerator")
GENERATORS.register("translate", "ccpapers.build.generators.translate:TranslateGenerator")
GENERATORS.register("offline", "ccpapers.build.generators.offline:OfflineGenerator")
