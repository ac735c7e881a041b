"""Opening an extract only as a regular file inside the extracts folder.

The extracts folder is filled by other systems overnight, so a name in it
may be a symbolic link to anywhere (``people.csv -> /etc/passwd``), a FIFO
that blocks a read for ever, or a device. Each step below the extracts
folder is opened relative to the one before it with ``O_NOFOLLOW``, so a
link is refused wherever it sits (the source's folder or the file), even if
it appears between a check and the read; ``..`` and absolute names are
refused before anything is opened. The file's size is taken from the open
file (``fstat``) and checked against the limit before a byte is read.

The extracts folder itself may be a link: the operator chose it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import BinaryIO

from early_warning.config import InputLimits
from features.ingest.tables import FileRefused, over_limit


def plain_parts(relative: str | PurePath) -> tuple[str, ...]:
    """The names of a path below the extracts folder.

    Raises:
        FileRefused: the path is absolute or has an empty, ``.`` or ``..`` part.
    """
    path = PurePath(relative)
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        raise FileRefused(
            f"{relative}: only plain names below the extracts folder are read (no '..' and no absolute paths)"
        )
    return path.parts


def _refusal(shown: Path, error: OSError) -> FileRefused:
    if error.errno == errno.ELOOP or os.path.islink(shown):  # O_NOFOLLOW met a link
        return FileRefused(
            f"{shown}: is a symbolic link; extracts are read only as regular files inside the extracts folder"
        )
    return FileRefused(f"{shown}: cannot be read ({error.strerror or error})")


@contextmanager
def open_extract(root: Path, relative: str | PurePath, limits: InputLimits) -> Iterator[tuple[BinaryIO, int]]:
    """Open ``root/relative`` for reading, refusing anything but a regular file within its limits.

    Yields:
        The open file (binary) and its size in bytes.

    Raises:
        FileRefused: ``..`` or an absolute path, a link at any step, not a
            regular file, unreadable, or over ``limits.max_file_bytes``.
    """
    parts = plain_parts(relative)
    shown = Path(root, *parts)
    opened: list[int] = []
    try:
        try:
            opened.append(os.open(root, os.O_RDONLY | os.O_DIRECTORY))
            for i, part in enumerate(parts[:-1]):
                step = Path(root, *parts[: i + 1])
                try:
                    opened.append(
                        os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=opened[-1])
                    )
                except OSError as exc:
                    raise _refusal(step, exc) from None
            # O_NONBLOCK: a FIFO planted under the file's name must not hang the night.
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=opened[-1])
        except FileRefused:
            raise
        except OSError as exc:
            raise _refusal(shown, exc) from None
        opened.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{shown}: is not a regular file; extracts are read only as regular files")
        if info.st_size > limits.max_file_bytes:
            raise over_limit(shown, "is", info.st_size, "max_file_bytes", limits.max_file_bytes, "bytes")
        os.set_blocking(fd, True)
        opened.pop()
        with os.fdopen(fd, "rb") as file:
            yield file, info.st_size
    finally:
        for descriptor in opened:
            os.close(descriptor)
