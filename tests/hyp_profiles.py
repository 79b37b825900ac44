"""Hypothesis profiles for the test suite (loaded by tests/conftest.py; a module of its own so that tests can import
it — every conftest.py is named ``conftest``).

Property tests are reproducible by default (same examples on every run, so CI cannot turn red by chance);
``HYPOTHESIS_PROFILE=explore pytest`` draws fresh random examples to hunt for new counterexamples, and many more:
each test's own max_examples (its CI budget, set with @settings next to the test) is multiplied by
HYPOTHESIS_EXPLORE_SCALE (default 10) — conftest.pytest_collection_modifyitems applies it. Tests without their own
budget get the profile's 500.
"""

from __future__ import annotations

import os

from hypothesis import settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
EXPLORE_SCALE = int(os.environ.get("HYPOTHESIS_EXPLORE_SCALE", "10"))


def load_profiles() -> None:
    settings.register_profile("default", derandomize=True)
    settings.register_profile("explore", derandomize=False, max_examples=500)
    settings.load_profile(PROFILE)


def explore_settings(s: settings, scale: int) -> settings:
    """A test's settings for the explore profile: ``scale`` × its own budget, fresh random draws."""
    return settings(s, max_examples=s.max_examples * scale, derandomize=False)
