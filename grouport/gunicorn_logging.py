"""gunicorn's access log without what it must not keep.

No client address (a path like /groups/<slug>/ next to an address says who looked at a
therapy group), no query string (it can carry an email or a token), no referer or user
agent, and the secret part of a path (a password-reset or confirmation key, a token id)
replaced by "[redacted]". Status, method, path, size and time stay: what an operator needs.
"""

import re

from gunicorn.glogging import Logger

SECRET_PATHS = (
    re.compile(r"^(/accounts/password/reset/key/)[^/]+"),
    re.compile(r"^(/accounts/confirm-email/)[^/]+"),
    re.compile(r"^(/api/auth/tokens/)[^/]+"),
    re.compile(r"^(/join/)[^/]+"),
)

ACCESS_LOG_FORMAT = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def redact_path(path: str) -> str:
    """Return ``path`` with any secret segment replaced."""
    for pattern in SECRET_PATHS:
        path = pattern.sub(r"\1[redacted]", path)
    return path


class PrivateAccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(atoms.get("U", ""))
        atoms.update(U=path, q="", h="-", f="-", a="-", r=f"{atoms.get('m', '')} {path} {atoms.get('H', '')}")
        for key in [k for k in atoms if k.startswith("{")]:
            atoms[key] = "-"  # request and response headers (X-Forwarded-For, cookies...)
        return atoms
