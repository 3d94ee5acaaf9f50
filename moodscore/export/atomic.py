"""Write a file all at once or not at all.

The bytes go to a hidden temporary file in the target's directory, are flushed to disk, and
then ``os.replace`` swaps it in, so a reader never sees a half-written file and a failure leaves
nothing behind.

Public API: :func:`atomic_write_bytes`.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from ..errors import OutputError


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; raise :class:`OutputError` naming the path."""
    target = Path(path)
    created = False
    try:
        # Same directory as the target, so os.replace is a rename on one filesystem.
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        # O_EXCL: never clobber someone else's file; mode 0o666 lets the umask decide, as open().
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(tmp, flags, 0o666)
        created = True
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        if created:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if not isinstance(err, Exception):  # KeyboardInterrupt and friends pass through
            raise
        reason = (err.strerror if isinstance(err, OSError) else None) or str(err)
        raise OutputError(f"cannot write {target}: {reason}".replace("\n", " ")) from err
