"""The Hypothesis profiles do what README says: 'default' runs each property test's own budget of fixed examples;
'explore' (HYPOTHESIS_PROFILE=explore) multiplies every budget by HYPOTHESIS_EXPLORE_SCALE and draws fresh ones."""

from __future__ import annotations

from hyp_profiles import EXPLORE_SCALE, PROFILE, explore_settings  # type: ignore[import-not-found]
from hypothesis import given, settings
from hypothesis import strategies as st

CALLS: list[int] = []


@settings(max_examples=7, database=None)
@given(st.integers())
def test_budgeted_property(x: int) -> None:
    CALLS.append(x)


def test_the_active_profile_sets_the_budget() -> None:
    """Runs after test_budgeted_property (file order): the property ran as many distinct examples as the
    profile allows — 7 under 'default', 7 × scale under 'explore'."""
    s = test_budgeted_property._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    if PROFILE == "explore":
        assert s.max_examples == 7 * EXPLORE_SCALE and not s.derandomize
    else:
        assert s.max_examples == 7 and s.derandomize
    if CALLS:  # when the property ran in this session (not deselected), it used that budget
        assert len(set(CALLS)) <= s.max_examples
        assert len(CALLS) >= min(s.max_examples, 7)


def test_explore_settings_scale() -> None:
    s = explore_settings(settings(max_examples=60, deadline=None, derandomize=True), 10)
    assert s.max_examples == 600 and not s.derandomize and s.deadline is None
