"""A stored version of a questionnaire never changes its wording or scoring (answers point at
it): the frozen copy the old migrations install is still exactly version 1 of today's
definitions, bar what later came as data of its own (the reliable-change threshold)."""

import pytest

from care import measures
from enrollment.migrations import _questionnaires_v1 as frozen

pytestmark = pytest.mark.sqlite


@pytest.mark.parametrize("code", ["PHQ-9", "GAD-7"])
def test_the_old_migrations_install_todays_version_1(code):
    today = next(spec for spec in measures.MEASURES if spec["code"] == code)
    then = next(spec for spec in frozen.MEASURES if spec["code"] == code)
    assert today["version"] == then["version"] == 1
    assert {k: v for k, v in today.items() if k != "reliable_change"} == then
