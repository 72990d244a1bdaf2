"""The delivery record: what was sent, per period, beside the outputs (`<out>/deliveries/<label>.jsonl`),
never inside the published period folder (a rebuild replaces that folder whole).

One JSON line per message accepted by the server, appended and flushed to disk before the next
message goes out, so a run that dies part-way leaves an exact account of what was sent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FOLDER = "deliveries"


def record_path(out: Path, label: str) -> Path:
    return out / FOLDER / f"{label}.jsonl"


class DeliveryRecord:
    def __init__(self, path: Path):
        self.path = path
        self.entries: list[dict] = []
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:  # a line cut short by a crash: that message's fate is unknown, so it counts as unsent
                    continue
                if isinstance(entry, dict) and "address" in entry and "scopes" in entry:
                    self.entries.append(entry)

    def last_sent(self, address: str, scopes: tuple[str, ...]) -> dict | None:
        """The latest message that went to this address with these scopes, or None."""
        matches = [e for e in self.entries if e["address"].lower() == address.lower() and tuple(e["scopes"]) == tuple(scopes)]
        return matches[-1] if matches else None

    def add(self, entry: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.entries.append(entry)
