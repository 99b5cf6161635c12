"""Taint holders of the account ledger: what one address holds of one asset, under a policy.

:class:`Proportional` (haircut, poison, TIHO) keeps balance and taint; :class:`Lots` (FIFO,
LIFO) keeps an ordered list of pure lots. Exact integers; see :mod:`tracer.account.ledger`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from tracer.core.models import Policy


class Proportional:
    """Haircut / poison / TIHO holder: balance and taint, plus the poisoned flag."""

    __slots__ = ("balance", "poisoned", "taint")

    def __init__(self) -> None:
        self.balance = 0
        self.taint = 0
        self.poisoned = False

    def add(self, amount: int, taint: int, poisoned: bool) -> None:
        self.balance += amount
        self.taint += taint
        if poisoned or taint:
            self.poisoned = True

    def take(self, amount: int) -> int:
        balance = self.balance
        if amount >= balance:
            # drains the holder (a shortfall is clean value added just before: a·T // a = T)
            carried = self.taint
            self.balance = 0
            self.taint = 0
            return carried
        carried = amount * self.taint // balance if self.taint else 0
        self.balance = balance - amount
        self.taint -= carried
        return carried

    def take_largest_first(self, amounts: Sequence[int]) -> list[int]:
        """TIHO: fill the given outflows (already in priority order) with taint first."""
        total = sum(amounts)
        remaining = self.taint
        out = []
        for amount in amounts:
            carried = amount if amount < remaining else remaining
            remaining -= carried
            out.append(carried)
        self.balance = max(self.balance - total, 0)
        self.taint = remaining
        return out


class Lots:
    """FIFO / LIFO holder: an ordered list of pure lots ``[amount, tainted]``."""

    __slots__ = ("balance", "lots", "newest_first", "poisoned", "taint")

    def __init__(self, *, newest_first: bool) -> None:
        self.lots: deque[list] = deque()
        self.balance = 0
        self.taint = 0
        self.poisoned = False
        self.newest_first = newest_first

    def add(self, amount: int, taint: int, poisoned: bool) -> None:
        lots = self.lots
        if taint:
            if lots and lots[-1][1]:
                lots[-1][0] += taint
            else:
                lots.append([taint, True])
            self.poisoned = True
            self.taint += taint
        elif poisoned:
            self.poisoned = True
        clean = amount - taint
        if clean:
            if lots and not lots[-1][1]:
                lots[-1][0] += clean
            else:
                lots.append([clean, False])
        self.balance += amount

    def take(self, amount: int) -> int:
        lots = self.lots
        if amount >= self.balance:  # drains everything (a shortfall is unseen clean value)
            carried = self.taint
            lots.clear()
            self.balance = 0
            self.taint = 0
            return carried
        self.balance -= amount
        need = amount
        carried = 0
        if self.newest_first:
            while need:
                lot = lots[-1]
                size = lot[0]
                if size <= need:
                    need -= size
                    if lot[1]:
                        carried += size
                    lots.pop()
                else:
                    lot[0] = size - need
                    if lot[1]:
                        carried += need
                    break
        else:
            while need:
                lot = lots[0]
                size = lot[0]
                if size <= need:
                    need -= size
                    if lot[1]:
                        carried += size
                    lots.popleft()
                else:
                    lot[0] = size - need
                    if lot[1]:
                        carried += need
                    break
        self.taint -= carried
        return carried


def new_holder(policy: Policy) -> Proportional | Lots:
    if policy is Policy.FIFO:
        return Lots(newest_first=False)
    if policy is Policy.LIFO:
        return Lots(newest_first=True)
    return Proportional()
