"""The web container's health check: GET /healthz as the proxy would (no Django import).

``python -m grouport.healthcheck`` exits 0 when the app and its database answer. It sends
the site's own host name and the proxy's https header, so neither ALLOWED_HOSTS nor the
https redirect turns it away.
"""

import http.client
import os
import sys


def main() -> int:
    host = (os.environ.get("ALLOWED_HOSTS") or "localhost").split(",")[0].strip().lstrip(".")
    connection = http.client.HTTPConnection("127.0.0.1", 8000, timeout=5)
    try:
        connection.request("GET", "/healthz", headers={"Host": host, "X-Forwarded-Proto": "https"})
        return 0 if connection.getresponse().status == 200 else 1
    except OSError:
        return 1
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
