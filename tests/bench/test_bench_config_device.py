"""Automatic bench settings resolve to the measured fast path on CUDA and small ones on CPU."""

from __future__ import annotations

from ccpapers.bench.config import BenchConfig


def test_auto_settings_per_device() -> None:
    gpu = BenchConfig(size="7b").for_device(cuda=True)
    assert (gpu.seq_len, gpu.gen_batch_size, gpu.compile) == (4096, 256, True)
    cpu = BenchConfig(size="7b").for_device(cuda=False)
    assert (cpu.seq_len, cpu.gen_batch_size, cpu.compile) == (2048, 32, False)
    tiny = BenchConfig(tiny=True, seq_len=4096).for_device(cuda=True)
    assert tiny.seq_len == 512


def test_explicit_settings_win() -> None:
    cfg = BenchConfig(seq_len=1024, gen_batch_size=8, compile=False).for_device(cuda=True)
    assert (cfg.seq_len, cfg.gen_batch_size, cfg.compile) == (1024, 8, False)
