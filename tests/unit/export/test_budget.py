"""One budget rule: a run's check before it starts and a sync's plan say the same."""

import pytest

from intacct_sync.errors import BudgetExceededError
from intacct_sync.export.budget import check_budget, fits_budget
from intacct_sync.export.sync import plan_totals


@pytest.mark.parametrize(
    ("budget", "used", "needed", "fits"),
    [(0, 10**6, 10**6, True), (100, 90, 10, True), (100, 90, 11, False), (100, 101, 0, False)],
)
def test_the_check_and_the_plan_use_the_one_rule(budget, used, needed, fits):
    assert fits_budget(budget, used, needed) is fits
    if fits:
        check_budget(budget, used, needed, "this export")
    else:
        with pytest.raises(BudgetExceededError, match="this export needs about"):
            check_budget(budget, used, needed, "this export")
    planned = [{"object": "X", "records": 1, "full_sync_transactions": needed}]
    assert plan_totals(planned, 1, used, budget)["fits_budget"] is (fits if budget else None)
