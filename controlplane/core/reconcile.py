"""How a record asks for the fleet to be brought in line with the database, without knowing who does it.

The record apps call :func:`request_reconcile` inside their write transaction; once it commits,
:data:`reconcile_requested` is sent, and the orchestration app (which connects to it when Django starts)
queues a pass. So records never import orchestration, and a change that is rolled back asks for nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# Sent after a commit that changed what the fleet should be. Receivers must not raise: the change is saved.
reconcile_requested = Signal()


def request_reconcile() -> None:
    """Ask for a pass once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: reconcile_requested.send(sender=None), robust=True)
