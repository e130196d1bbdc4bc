"""Training: device and thread choice, the train step and batch sampler, the loop with resume, and
self-describing checkpoints. The model input conversion is :mod:`betavae.models.inputs`; encoding for
evaluation is :mod:`betavae.evaluation.inference`."""
