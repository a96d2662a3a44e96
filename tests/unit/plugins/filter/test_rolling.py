# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rolling_plan: the batch rolling.yml takes out, refused when too few web servers would keep serving."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.rolling import rolling_plan


@pytest.mark.parametrize("count, batch, min_serving, size, floor", [
    (2, 1, "50%", 1, 1),
    (8, "25%", "50%", 2, 4),
    (8, "50%", "50%", 4, 4),
    (3, "10%", "50%", 1, 1),      # a percentage rounds down, to at least one host
    (4, "100%", "0", 4, 0),
    (4, 9, 0, 4, 0),               # never more than there are
    (5, "40%", "60%", 2, 3),
    (2, "1", 1, 1, 1),
])
def test_a_batch_that_leaves_enough_serving_goes_ahead(count, batch, min_serving, size, floor):
    assert rolling_plan(count, batch, min_serving) == {"batch": size, "floor": floor, "error": ""}


def test_a_batch_that_leaves_too_few_serving_is_refused_with_the_figures():
    plan = rolling_plan(2, "100%", "50%")
    assert plan["error"] == ("A batch of 2 (rolling_batch 100%) of the 2 web servers would leave 0 serving, fewer"
                             " than rolling_min_serving (50%, that is 1): choose a smaller batch.")
    assert rolling_plan(4, 2, 3)["error"].startswith("A batch of 2 (rolling_batch 2) of the 4 web servers would leave 2")


@pytest.mark.parametrize("batch, min_serving, message", [
    ("12.5%", "50%", "rolling_batch '12.5%' is neither a number of web servers nor a percentage such as 25%."),
    ("0", "50%", "rolling_batch '0' is neither"),
    ("all", "50%", "rolling_batch 'all' is neither"),
    (1, "half", "rolling_min_serving 'half' is neither a number of web servers nor a percentage such as 50%."),
    (1, "-1", "rolling_min_serving '-1' is neither"),
])
def test_a_batch_or_floor_that_is_not_a_serial_is_refused(batch, min_serving, message):
    assert rolling_plan(4, batch, min_serving)["error"].startswith(message)


def test_the_count_must_be_a_number():
    with pytest.raises(AnsibleFilterError, match="the number of web servers"):
        rolling_plan("many")
