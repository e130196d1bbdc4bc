"""betavae: training, evaluating and shipping beta-VAEs (Higgins et al. 2017) and their family."""

__version__ = "0.1.0"
