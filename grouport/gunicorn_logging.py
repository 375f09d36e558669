"""gunicorn's access log without what it must not keep.

No client address (a path like /groups/<slug>/ next to an address says who looked at a
therapy group), no query string (it can carry an email or a token), no referer or user
agent, and the secret part of a path (a password-reset or confirmation key, a token id)
replaced by "[redacted]". Status, method, path, size and time stay: what an operator needs.
gunicorn's own error messages lose the client address too (see ``grouport.log_privacy``).
"""

from gunicorn.glogging import Logger

from grouport.log_privacy import redact_path, scrub_message

ACCESS_LOG_FORMAT = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


class PrivateAccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(atoms.get("U"))  # None when gunicorn refused a malformed request
        atoms.update(U=path, q="", h="-", f="-", a="-", r=f"{atoms.get('m', '')} {path} {atoms.get('H', '')}")
        for key in [k for k in atoms if k.startswith("{")]:
            atoms[key] = "-"  # request and response headers (X-Forwarded-For, cookies...)
        return atoms

    # gunicorn's error log says "Invalid request from ip=..." for a malformed request: the
    # message stays, the address goes.
    def critical(self, msg, *args, **kwargs):
        super().critical(scrub_message(str(msg)), *args, **kwargs)

    def error(self, msg, *args, **kwargs):
        super().error(scrub_message(str(msg)), *args, **kwargs)

    def warning(self, msg, *args, **kwargs):
        super().warning(scrub_message(str(msg)), *args, **kwargs)

    def info(self, msg, *args, **kwargs):
        super().info(scrub_message(str(msg)), *args, **kwargs)

    def debug(self, msg, *args, **kwargs):
        super().debug(scrub_message(str(msg)), *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        super().exception(scrub_message(str(msg)), *args, **kwargs)
