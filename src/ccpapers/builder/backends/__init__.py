"""Generation backends (home of the BACKENDS registry).

A backend builds a request payload (pure), sends it (the only I/O) and parses the
raw reply (pure). Keys come only from the environment.
"""

from ccpapers.registry import BACKENDS

BACKENDS.register("anthropic", "ccpapers.builder.backends.anthropic_backend:AnthropicBackend")
BACKENDS.register("openai", "ccpapers.builder.backends.openai_backend:OpenAIBackend")
BACKENDS.register("deepl", "ccpapers.builder.backends.deepl_backend:DeepLBackend")
BACKENDS.register("transformers", "ccpapers.builder.backends.transformers_backend:TransformersBackend")
BACKENDS.register("offline", "ccpapers.builder.backends.base:OfflineBackend")
