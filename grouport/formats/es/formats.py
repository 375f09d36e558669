"""Spanish as written in the US (our members' Spanish): $320.00, not $320,00. Everything not
set here comes from Django's own Spanish formats."""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
