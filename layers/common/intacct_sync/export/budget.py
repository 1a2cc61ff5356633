"""The monthly transaction budget: one rule, checked before a run starts and again once its size is known,
and told by a sync's plan."""

from __future__ import annotations

from intacct_sync.errors import BudgetExceededError


def fits_budget(budget: int, used: int, needed: int) -> bool:
    """Whether ``needed`` more transactions keep this month's ``used`` within ``budget`` (0 = no budget)."""
    return not budget or used + needed <= budget


def check_budget(budget: int, used: int, needed: int, what: str) -> None:
    """Raise BudgetExceededError when ``needed`` more transactions would take this month's ``used`` over
    ``budget`` (``fits_budget``). ``what`` says what needs them, e.g. "this export"."""
    if not fits_budget(budget, used, needed):
        raise BudgetExceededError(
            f"{what} needs about {needed} Intacct transactions but {used} of the monthly budget of {budget} "
            f"are used; raise MonthlyTransactionBudget, narrow the export, or wait for next month"
        )
