"""Superbills: what a member gives their insurer to claim a therapy group's fee back as
out-of-network care.

Drawn fresh each time it is opened, from the attendance sheet and the payments, so a
corrected attendance mark is in the next copy. It carries what insurers ask on a superbill:

- the clinic (``CLINIC_LEGAL_NAME``, ``CLINIC_ADDRESS``, its tax id ``CLINIC_TAX_ID``) and
  the rendering provider (the group's therapist: name, credentials, NPI, their license in
  the member's state);
- the patient (name, date of birth, address: from their intake) and the diagnosis code the
  therapist gave (``care.SuperbillRequest``);
- one line per session **attended** (``Attendance`` marked present): its date, CPT 90853
  (group psychotherapy) with modifier 95 (synchronous telehealth), place of service 10 (the
  patient's home: they checked in at their usual address) or 02 (elsewhere), the diagnosis
  pointer, the fee for the session and what was paid for it.

The fee per session is what the seat was charged (its payments, at the member's fee tier
and code) over the program's weeks; what was paid per session is the same net of refunds.
It lives here, above attendance, billing and care, because it reads all three.
"""

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from attendance.models import Attendance, CheckIn
from billing.models import Payment
from billing.receipts import Clinic, clinic, long_date
from care.models import SuperbillRequest
from intake.selectors import member_intake

CPT_GROUP_PSYCHOTHERAPY = "90853"
MODIFIER_TELEHEALTH = "95"
POS_HOME, POS_ELSEWHERE = "10", "02"  # telehealth in the patient's home; other than their home
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    day: dt.date
    place: str
    charge: Decimal
    paid: Decimal
    cpt: str = CPT_GROUP_PSYCHOTHERAPY
    modifier: str = MODIFIER_TELEHEALTH
    pointer: str = "A"

    @property
    def date(self) -> str:
        return long_date(self.day)


@dataclass(frozen=True)
class Superbill:
    number: str
    issued_on: dt.date
    clinic: Clinic
    provider: str
    npi: str
    license: str
    patient: str
    birth_date: dt.date | None
    address: str
    diagnosis: str
    lines: list[Line] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return bool(self.diagnosis)

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))

    @property
    def total_paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), Decimal("0.00"))

    @property
    def issued(self) -> str:
        return long_date(self.issued_on)

    @property
    def born(self) -> str:
        return long_date(self.birth_date) if self.birth_date else ""


def superbill_of(request: SuperbillRequest, *, today: dt.date | None = None) -> Superbill:
    reservation = request.reservation
    group, member = reservation.group, reservation.member
    therapist = group.therapist
    weeks = max(group.weeks, 1)
    payments = list(Payment.objects.filter(reservation=reservation, status=Payment.Status.PAID))
    charged = sum((p.amount for p in payments), Decimal("0.00"))
    net = charged - sum((p.amount_refunded for p in payments), Decimal("0.00"))
    per_charge = (charged / weeks).quantize(CENT, rounding=ROUND_HALF_UP)
    per_paid = (net / weeks).quantize(CENT, rounding=ROUND_HALF_UP)
    at_home = dict(
        CheckIn.objects.filter(reservation=reservation, admitted=True).values_list(
            "session_id", "at_usual_address"
        )
    )
    present = (
        Attendance.objects.filter(reservation=reservation, status=Attendance.Status.PRESENT)
        .select_related("session")
        .order_by("session__starts_at")
    )
    lines = [
        Line(
            day=timezone.localtime(mark.session.starts_at, ZoneInfo(group.time_zone)).date(),
            place=POS_HOME if at_home.get(mark.session_id) else POS_ELSEWHERE,
            charge=per_charge,
            paid=per_paid,
        )
        for mark in present
    ]
    licenses = sorted(
        therapist.licenses.all(),
        key=lambda lic: (lic.state != reservation.residence_state, -lic.expires_on.toordinal()),
    )
    license_text = f"{licenses[0].state} {licenses[0].number}" if licenses else ""
    intake = member_intake(member)
    return Superbill(
        number=f"SB-{request.pk:06d}",
        issued_on=today or timezone.localdate(timezone=ZoneInfo(member.zone)),
        clinic=clinic(),
        provider=f"{therapist.display_name}, {therapist.credentials}",
        npi=therapist.npi,
        license=license_text,
        patient=member.get_full_name() or member.email,
        birth_date=intake.birth_date if intake else None,
        address=intake.usual_address if intake else "",
        diagnosis=request.diagnosis_code,
        lines=lines,
    )


def superbill_pdf(bill: Superbill) -> bytes:
    """The superbill as a PDF (ReportLab, built-in fonts: English and Spanish)."""
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=LETTER, title=f"{_('Superbill')} {bill.number}", author=bill.clinic.name,
        leftMargin=0.7 * inch, rightMargin=0.7 * inch, topMargin=0.7 * inch,
    )  # fmt: skip
    p = styles["Normal"]
    story = [
        Paragraph(escape(f"{_('Superbill')} {bill.number}"), styles["Heading1"]),
        Paragraph(escape(_("Date: %(date)s") % {"date": bill.issued}), p),
        Spacer(1, 0.15 * inch),
        Paragraph(escape(bill.clinic.name), styles["Heading3"]),
        Paragraph("<br/>".join(escape(x) for x in bill.clinic.address), p),
        Paragraph(escape(_("Tax ID: %(tax_id)s") % {"tax_id": bill.clinic.tax_id}), p),
        Spacer(1, 0.15 * inch),
    ]
    facts = [
        (_("Provider"), bill.provider),
        (_("NPI"), bill.npi),
        (_("License"), bill.license),
        (_("Patient"), bill.patient),
        (_("Date of birth"), bill.born),
        (_("Address"), bill.address),
        (_("Diagnosis (ICD-10-CM)"), f"A. {bill.diagnosis}"),
    ]
    table = Table(
        [[Paragraph(escape(a), p), Paragraph(escape(b), p)] for a, b in facts],
        colWidths=[1.9 * inch, 5 * inch],
    )
    table.setStyle(
        TableStyle(
            [("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    story += [table, Spacer(1, 0.2 * inch)]
    head = [
        _("Date of service"),
        _("CPT"),
        _("Modifier"),
        _("Place of service"),
        _("Diagnosis"),
        _("Fee"),
        _("Paid"),
    ]
    rows = [head] + [
        [line.date, line.cpt, line.modifier, line.place, line.pointer, f"${line.charge}", f"${line.paid}"]
        for line in bill.lines
    ]
    rows.append([_("Total"), "", "", "", "", f"${bill.total_charge}", f"${bill.total_paid}"])
    services = Table([[Paragraph(escape(str(c)), p) for c in row] for row in rows], repeatRows=1)
    services.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.75, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [services, Spacer(1, 0.2 * inch)]
    story.append(
        Paragraph(
            escape(
                _(
                    "CPT 90853: group psychotherapy. Modifier 95: by video. "
                    "Place of service 10: the patient's home; 02: elsewhere."
                )
            ),
            p,
        )
    )
    doc.build(story)
    return out.getvalue()
