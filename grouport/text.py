"""What no person types: one definition for every door that refuses it."""

import re

# C0 control characters other than tab, newline and carriage return, and DEL: no person
# types them, and PostgreSQL refuses NUL outright (it was a 500 in an admin filter).
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
