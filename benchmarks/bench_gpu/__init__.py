"""GPU benchmark of `ccpapers bench` against the study's loop, in one process on one machine.

Issue 7 (speed) and the GPU check of issue 6 (a ``fictional`` run end to end). Both paths run on
a random-initialised model of the Llama-2-7b shape (bf16; no download) with the study's LoRA
settings (r=100, alpha=300, v,o,gate,up,lm_head):

* study-style baseline: one text per step (batch 1, no packing), eager PEFT model, sdpa,
  AdamW; answers one question at a time with ``generate`` on the un-merged LoRA model;
* ccpapers: the code ``ccpapers bench`` runs (``bench.packing.pack`` -> ``bench.training.fit``
  -> ``bench.evaluation.score_questions``): packed rows with document masks (FlexAttention),
  regional ``torch.compile``, merged LoRA and large length-sorted generation batches.

Phases (``--phases``): ``lora`` (train both ways, trial switch, profile), ``eval`` (250 questions),
``full`` (full fine-tuning both ways, in the precision that learns: float32 master weights with
bf16 autocast where 16 bytes/parameter fit the GPU, else bf16 weights with stochastic-rounding
AdamW; also ccpapers' one-text-per-step schedule on the baseline's texts), ``fictional`` (issue 6: ``run_bench`` on the fictional
suite with LoRA and with full FT; peak memory and time per epoch). Prints a table at the end and
writes ``bench_gpu.json`` (+ ``profile_*.txt``, ``fictional.json``) into ``--out``.

    PYTHONPATH=src python -m benchmarks.bench_gpu --out OUT          # GPU (H100: about 7-8 minutes)
    PYTHONPATH=src python -m benchmarks.bench_gpu --tiny --out OUT   # CPU smoke run (CI), numbers mean nothing

(``PYTHONPATH=src`` where ccpapers is not installed, as on the GPU machine; run from the
repository root.) Modules, in the order a run uses them: options (flags), shapes, workload
(tokenizer, model, texts, questions), run (the shared context), study_style (the baseline),
ccpapers_path, profiling, the phases lora / evaluation / full / fictional, results (the typed
results and targets), report (the table), main.
"""
