"""CSV files staff download: every cell safe to open in a spreadsheet."""

import csv
import io
from collections.abc import Iterable

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets
# (``=HYPERLINK(...)`` typed into a name field would run on the reader's machine).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Return ``value`` with a leading quote if a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    """Return the CSV of ``header`` and ``rows``, every cell made formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue()
