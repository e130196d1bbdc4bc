"""Training engine: device choice, the optimisation loop, checkpoints and inference helpers."""
