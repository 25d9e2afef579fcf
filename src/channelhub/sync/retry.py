"""The retry decision table, in one place: what happens to an outbound write after each kind of failure.

| outcome                               | next                                                      |
| ------------------------------------- | --------------------------------------------------------- |
| ok                                    | done                                                      |
| per-item error, retryable             | pending, due after the backoff (or dead after max_attempts) |
| per-item error, not retryable         | dead, error kept                                          |
| Retryable raised for the call         | every row pending after the backoff (or dead at the limit) |
| RateLimited(retry_after) raised       | pending, due no sooner than now + retry_after            |
| Fatal raised                          | rows pending again (attempt not counted), channel stopped |

Backoff is tenacity's `wait_random_exponential` (full jitter, capped) or, with jitter off, `wait_exponential`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tenacity import RetryCallState, wait_exponential, wait_random_exponential


class Next(StrEnum):
    DONE = "done"
    RETRY = "pending"
    DEAD = "dead"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a write is retried. `base` and `cap` in seconds."""

    max_attempts: int = 8
    base: float = 2.0
    cap: float = 600.0
    jitter: bool = True

    def wait(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failed try (1-based)."""
        strategy = (
            wait_random_exponential(multiplier=self.base, max=self.cap)
            if self.jitter
            else wait_exponential(multiplier=self.base, max=self.cap)
        )
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = max(attempt, 1)
        return float(strategy(state))

    def after_failure(
        self, attempts: int, now: datetime, *, retryable: bool, retry_after: float | None = None
    ) -> tuple[Next, datetime]:
        """Decide the fate of a write that failed on its `attempts`-th try: (next status, due_at)."""
        if not retryable or attempts >= self.max_attempts:
            return Next.DEAD, now
        delay = self.wait(attempts)
        if retry_after is not None:
            delay = max(delay, float(retry_after))
        return Next.RETRY, now + timedelta(seconds=delay)
