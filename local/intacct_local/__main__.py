"""``intacct-sync``, the installed command (and ``python -m intacct_local``).

Before anything else is imported: the process's AWS settings are made safe (``aws_isolation``: importing
moto builds a boto3 session, which would read a profile or an endpoint the user's shell has, and fail on a
profile that does not exist), and a stop signal (Ctrl-C, ``kill``, a closed terminal) while the command
starts ends it with one line and 128 + the signal's number, as a stop later does, instead of a
traceback from whatever module was being imported. Then the command line (``cli``) takes over.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

from intacct_local.aws_isolation import isolate
from intacct_local.terminal import STOP_SIGNALS, Interrupted

STARTING_STOPPED = "intacct-sync: stopped while starting; nothing was exported\n"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def main() -> None:
    isolate()
    for stop_signal in STOP_SIGNALS:  # the command line routes them to its own stop (terminal)
        signal.signal(stop_signal, _interrupt)
    try:
        from intacct_local import cli
    except KeyboardInterrupt as exc:
        os.write(2, STARTING_STOPPED.encode())
        os._exit(128 + (exc.signum if isinstance(exc, Interrupted) else signal.SIGINT))
    cli.entrypoint()


if __name__ == "__main__":
    main()
