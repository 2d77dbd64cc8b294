"""Test-only fault injection: a process kills itself at a named point.

The reliability tests start a real process with `crash_at=<point>` and check that nothing is
lost or applied twice after a restart. Points: `relay.after_publish`,
`consumer.before_db_commit`, `consumer.after_db_commit`.
"""

from __future__ import annotations

import os
import signal


class CrashPoints:
    def __init__(self, crash_at: str | None = None) -> None:
        self._crash_at = crash_at

    def __call__(self, point: str) -> None:
        if self._crash_at is not None and point == self._crash_at:
            # SIGKILL, not an exception: no finally blocks, no clean shutdown, like a power cut.
            os.kill(os.getpid(), signal.SIGKILL)
