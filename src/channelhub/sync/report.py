"""What applying orders (or retrying holds) did: the counts a pull, a replay or a webhook reports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ApplyReport:
    """Counts of one apply. New orders are counted once, by the state they ended in (`confirmed`, `held`,
    `cancelled`, `shipped`); updates add to `updated` and to the count of any move they made."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0  # an equal or older version of a stored order: ignored
    confirmed: int = 0
    held: int = 0
    cancelled: int = 0
    shipped: int = 0  # shipped (or delivered) by the channel itself
    published: int = 0  # stock writes queued for the channels
    conflicts: list[str] = field(default_factory=list)
    touched_skus: set[str] = field(default_factory=set)  # sellable quantity may have changed: publish
    freed_skus: set[str] = field(default_factory=set)  # available units grew: retry the orders held for them

    def merge(self, other: ApplyReport) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.confirmed += other.confirmed
        self.held += other.held
        self.cancelled += other.cancelled
        self.shipped += other.shipped
        self.published += other.published
        self.conflicts.extend(other.conflicts)
        self.touched_skus |= other.touched_skus
        self.freed_skus |= other.freed_skus
