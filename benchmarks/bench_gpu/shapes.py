"""Model shapes the benchmark builds (random-initialised, no download) and the speed targets."""

LLAMA2_7B = dict(
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=32,
    max_position_embeddings=4096,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=0,
)
SMOLLM2_135M = dict(  # HuggingFaceTB/SmolLM2-135M(-Instruct): the real model of issue 11
    vocab_size=49152,
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    max_position_embeddings=8192,
    rms_norm_eps=1e-5,
    rope_theta=100000.0,
    tie_word_embeddings=True,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=2,
)
SHAPES = {"llama2-7b": LLAMA2_7B, "smollm2-135m": SMOLLM2_135M}
TARGETS = {"lora_tps": 15000.0, "lora_mfu": 0.40, "full_mfu": 0.35, "eval_s": 10.0}
