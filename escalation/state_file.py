"""The alerts state file for commands that only read: opened when it exists, never created."""

from __future__ import annotations

import sys

from escalation.repository import EscalationRepository
from mimamori.config import Config


def open_existing(config: Config) -> EscalationRepository | None:
    """The state file, opened; None (and "nothing here yet" said) when it does not exist: reading
    never creates it."""
    path = config.alerts.state_path
    if not path.exists():
        print(f"nothing here yet: no state file at {path}", file=sys.stderr)
        return None
    repo = EscalationRepository(path)
    repo.open()
    return repo
