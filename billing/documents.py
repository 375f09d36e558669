"""Receipts (and superbills) as PDF, drawn with ReportLab in the active language.

ReportLab's built-in Helvetica covers every letter of English and Spanish (WinAnsi), so the
image needs no font or system library. A document carries what its page shows, no more.
"""

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.receipts import PAYMENT, Clinic, Receipt


def money(amount: Decimal, currency: str) -> str:
    return f"${amount:,.2f} {currency}"


def receipt_pdf(receipt: Receipt, clinic: Clinic) -> bytes:
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    title = _("Receipt") if receipt.kind == PAYMENT else _("Refund receipt")
    doc = SimpleDocTemplate(
        out,
        pagesize=LETTER,
        title=f"{title} {receipt.number}",
        author=clinic.name,
        leftMargin=0.9 * inch,
        rightMargin=0.9 * inch,
        topMargin=0.8 * inch,
    )
    story = [
        Paragraph(escape(clinic.name), styles["Heading2"]),
        Paragraph("<br/>".join(escape(line) for line in clinic.address), styles["Normal"]),
        Paragraph(escape(_("Tax ID: %(tax_id)s") % {"tax_id": clinic.tax_id}), styles["Normal"]),
        Spacer(1, 0.3 * inch),
        Paragraph(escape(f"{title} {receipt.number}"), styles["Heading1"]),
    ]
    rows = [
        [_("Date"), receipt.date],
        [_("Received from") if receipt.kind == PAYMENT else _("Refunded to"), receipt.payer],
        [_("For"), receipt.description],
        [
            _("Amount paid") if receipt.kind == PAYMENT else _("Amount refunded"),
            money(receipt.amount, receipt.currency),
        ],
        [_("Paid by"), receipt.method],
    ]
    if receipt.kind == PAYMENT and receipt.refunded:
        rows.append([_("Refunded since"), money(receipt.refunded, receipt.currency)])
    if receipt.refers_to:
        rows.append([_("Refund of receipt"), receipt.refers_to])
    table = Table(
        [[Paragraph(escape(a), styles["Normal"]), Paragraph(escape(b), styles["Normal"])] for a, b in rows],
        colWidths=[1.8 * inch, 4.6 * inch],
    )
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    story += [table, Spacer(1, 0.3 * inch)]
    story.append(Paragraph(escape(_("Thank you. Keep this receipt for your records.")), styles["Normal"]))
    doc.build(story)
    return out.getvalue()
