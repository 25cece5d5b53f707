"""Which delimiter a CSV text uses (used by the layout reader and by encoding errors)."""
from __future__ import annotations

import csv
import io

DELIMITERS = (",", ";", "\t", "|")


def sniff(text: str) -> tuple[str | None, float]:
    """Pick the delimiter among ``, ; tab |`` that splits the first lines most consistently.

    Each candidate parses the first (up to 30) lines with :mod:`csv`; the best candidate gives
    the same field count (> 1) on most lines, ties broken by the larger count. Returns
    ``(None, 0.0)`` when no candidate splits the header, else the delimiter and the share of
    sampled lines whose field count equals the header's.
    """
    lines = text.splitlines()[:31]
    if len(text) >= 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    sample = "\n".join(lines)
    best, best_key = None, None
    for d in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        agree = sum(len(r) == width for r in rows[1:]) / (len(rows) - 1) if len(rows) > 1 else 1.0
        key = (agree >= 0.9, agree, width)
        if best_key is None or key > best_key:
            best, best_key = d, key
    return best, (best_key[1] if best_key else 0.0)
