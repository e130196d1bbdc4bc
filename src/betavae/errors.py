"""Exceptions raised at the project's boundaries.

Every error names the offending value and what was expected, so a failed stage tells its user what to fix.
"""


class BetavaeError(Exception):
    """Base class for every error this package raises on purpose."""


class ConfigError(BetavaeError, ValueError):
    """A `params.yaml` key is missing, unknown or holds a value outside its allowed range."""


class DataError(BetavaeError):
    """A dataset file is missing, truncated, corrupt, of the wrong shape/dtype, or fails its checksum."""


class DataValidationError(DataError):
    """A dataset failed one or more of its Great Expectations expectations (named in the message)."""


class TrainingDiverged(BetavaeError):
    """A training run produced a non-finite loss; retrying the same configuration would diverge again."""
