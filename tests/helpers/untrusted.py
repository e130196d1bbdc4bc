"""Objects that must never be unpickled: if a reader unpickles one, it leaves a mark the test sees."""

from __future__ import annotations

from pathlib import Path


class Exploit:
    """Unpickling this would write a file: proof that the reader never unpickles."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (self.target, "owned"))
