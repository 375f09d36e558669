"""What an email shows before it is opened: no subject names the group or says anything
clinical (a lock screen or a shared inbox shows subjects to anyone)."""

from pathlib import Path

import pytest
from django.template.loader import get_template

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

ROOT = Path(__file__).resolve().parent.parent
CLINICAL = ("dbt", "therapy", "borderline", "bpd", "depress", "anxiety", "diagnos", "mental", "crisis")


def test_no_email_subject_names_the_group_or_a_clinical_word(seat):
    group, alex, reservation = seat
    session = group.sessions.first()
    context = {
        "group": group, "reservation": reservation, "session": session, "member": alex,
        "member_tz": "America/New_York", "kind": "24h", "when": "tomorrow", "refund": {"amount": "10.00"},
        "entry": None, "alert": None, "place": "Texas",
    }  # fmt: skip
    subjects = sorted((ROOT / "templates" / "emails").glob("*.subject.txt"))
    assert len(subjects) >= 10
    for path in subjects:
        subject = get_template(f"emails/{path.name}").render(context).strip()
        assert group.title not in subject, path.name
        assert not any(word in subject.lower() for word in CLINICAL), (path.name, subject)
