"""A ledger with an audit, for the time travel docs: its balance can go negative.

The service keeps an account's balance. ``Audit`` opens an audit, a
sub-conversation run by ``yield from audit(...)``: each ``Check`` inside it
charges the audit fee, until ``Close`` hands the balance back. The bug: the fee
is charged without looking at the balance, so a long enough audit takes the
account below zero (``fixed_ledger`` stops charging at zero). The alert it
sends on a negative balance is a side effect, so it is skipped when the ledger
is being replayed (see [`replaying`][nanoservices.replaying]).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import msgspec

from nanoservices import replaying, service

__all__ = [
    "Audit",
    "Balance",
    "Check",
    "Close",
    "Deposit",
    "LedgerRequest",
    "Withdraw",
    "fixed_ledger",
    "ledger",
]


class Deposit(msgspec.Struct, tag=True):
    amount: int


class Withdraw(msgspec.Struct, tag=True):
    amount: int


class Balance(msgspec.Struct, tag=True):
    pass


class Audit(msgspec.Struct, tag=True):
    fee: int


class Check(msgspec.Struct, tag=True):
    entry: str


class Close(msgspec.Struct, tag=True):
    pass


LedgerRequest = Deposit | Withdraw | Balance | Audit | Check | Close


def audit(balance: int, fee: int, alert: Callable[[str], object]) -> Generator[Any, Any, int]:
    """Check entries one by one, charging ``fee`` for each, until ``Close``."""
    checked: list[str] = []
    reply: Any = f"audit open, fee {fee}"
    while True:
        request = yield reply
        if isinstance(request, Close):
            return balance
        if not isinstance(request, Check):
            reply = "an audit takes Check or Close"
            continue
        checked.append(request.entry)
        balance -= fee  # the bug: nothing stops the fee from taking the balance below zero
        if balance < 0 and not replaying():
            alert(f"balance {balance} after checking {request.entry}")
        reply = balance


def fixed_audit(balance: int, fee: int, alert: Callable[[str], object]) -> Generator[Any, Any, int]:
    """``audit`` with the fix: the fee is charged only while the balance covers it."""
    checked: list[str] = []
    reply: Any = f"audit open, fee {fee}"
    while True:
        request = yield reply
        if isinstance(request, Close):
            return balance
        if not isinstance(request, Check):
            reply = "an audit takes Check or Close"
            continue
        checked.append(request.entry)
        if balance >= fee:
            balance -= fee
        reply = balance


def _ledger(
    run_audit: Callable[..., Generator[Any, Any, int]], alert: Callable[[str], object]
) -> Generator[Any, LedgerRequest, None]:
    balance = 0
    reply: Any = None
    while True:
        request = yield reply
        if isinstance(request, Deposit):
            balance += request.amount
            reply = balance
        elif isinstance(request, Withdraw):
            if request.amount > balance:
                reply = f"refused: {request.amount} is more than the balance {balance}"
            else:
                balance -= request.amount
                reply = balance
        elif isinstance(request, Audit):
            balance = yield from run_audit(balance, request.fee, alert)
            reply = balance
        else:
            reply = balance


@service
def ledger(alert: Callable[[str], object] = print) -> Generator[Any, LedgerRequest, None]:
    """An account: deposits, withdrawals, audits (whose fees have a bug)."""
    yield from _ledger(audit, alert)


@service(name="ledger")
def fixed_ledger(alert: Callable[[str], object] = print) -> Generator[Any, LedgerRequest, None]:
    """``ledger`` with the audit fixed."""
    yield from _ledger(fixed_audit, alert)
