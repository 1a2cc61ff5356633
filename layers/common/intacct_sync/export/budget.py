"""The monthly transaction budget: one check, used before a run starts and again once its size is known."""

from __future__ import annotations

from intacct_sync.errors import BudgetExceededError


def check_budget(budget: int, used: int, needed: int, what: str) -> None:
    """Raise BudgetExceededError when ``needed`` more transactions would take this month's ``used`` over
    ``budget`` (0 = no budget). ``what`` says what needs them, e.g. "this export"."""
    if budget and used + needed > budget:
        raise BudgetExceededError(
            f"{what} needs about {needed} Intacct transactions but {used} of the monthly budget of {budget} "
            f"are used; raise MonthlyTransactionBudget, narrow the export, or wait for next month"
        )
