"""Benchmarks of betavae against the hardware it runs on: `python -m benchmarks [--quick]` (`make bench`).

One run measures, on the available device (CUDA when present, else CPU):

- the device's best matrix-product rate in float32 and bfloat16 (:mod:`benchmarks.hardware`);
- training images/s of the engine's real step for mlp64 (binary fast path and dense) and conv64 at
  batch 64 and a large batch, beside a plain PyTorch loop as the baseline (:mod:`benchmarks.training`),
  with the matrix-product FLOPs each image executes (:mod:`benchmarks.flops`) and the ratio of the
  achieved rate to the measured one;
- encoding images/s and the metric suite's time per model (:mod:`benchmarks.evaluation`);
- dSprites generation, storage size and load time (:mod:`benchmarks.data`).

Results are printed as a table and written as JSON under `benchmarks/results/`; `benchmarks/NOTES.md`
records each optimisation with its predicted and measured effect.
"""
