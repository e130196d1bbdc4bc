"""Random damage to a file's bytes, drawn by hypothesis: the faults a disk or a transfer can cause."""

from __future__ import annotations

from hypothesis import strategies as st


def damage(data: st.DataObject, raw: bytes, *, max_extension: int, max_patch: int) -> bytes:
    """`raw` cut at, extended past, or overwritten from a drawn offset (the action is drawn too)."""
    damaged = bytearray(raw)
    action = data.draw(st.sampled_from(["cut", "extend", "overwrite"]))
    at = data.draw(st.integers(0, len(damaged)))
    if action == "cut":
        damaged = damaged[:at]
    elif action == "extend":
        damaged += data.draw(st.binary(min_size=1, max_size=max_extension))
    else:
        patch = data.draw(st.binary(min_size=1, max_size=max_patch))
        damaged[at : at + len(patch)] = patch
    return bytes(damaged)
