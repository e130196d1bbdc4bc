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


class TrackingStoreError(BetavaeError):
    """The MLflow tracking store cannot be opened or queried (a damaged file, a server that is down)."""


class TrainingDiverged(BetavaeError):
    """A training run produced a non-finite loss; retrying the same configuration would diverge again."""


class DiskFull(BetavaeError):
    """A write ran out of space (ENOSPC); the message names the place, and the partial output is gone."""


def disk_full_cause(exc: BaseException) -> OSError | None:
    """The ENOSPC error behind `exc`, following `__cause__`/`__context__` (torch and MLflow wrap it), or None.

    MLflow's artifact download folds the per-file errors into its message, so "[Errno 28]" in a message
    counts as well; the returned error then carries no file name.
    """
    import errno

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return current
        if "[Errno 28]" in str(current) or "No space left on device" in str(current):
            return OSError(errno.ENOSPC, "No space left on device")
        current = current.__cause__ or current.__context__
    return None


def disk_full(exc: BaseException, where: object) -> DiskFull | None:
    """A one-line :class:`DiskFull` for `exc` if it is (or wraps) ENOSPC: "no space left on <where>"."""
    if disk_full_cause(exc) is None:
        return None
    return DiskFull(f"no space left on {where}")
