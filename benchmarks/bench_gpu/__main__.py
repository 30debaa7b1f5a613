"""``python -m benchmarks.bench_gpu``: see the package docstring."""

from benchmarks.bench_gpu.main import main

raise SystemExit(main())
