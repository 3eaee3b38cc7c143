"""Where user code failed: the file and line a message about a failing
component names, found from the exception's traceback, so a user reading
"strategies[0] ... raised KeyError" also reads which line of theirs did it."""

from __future__ import annotations

import inspect
import os
import sysconfig
import traceback

__all__ = ("source_file", "user_site")

_ADMF = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_LIBRARIES = tuple({os.path.abspath(sysconfig.get_paths()[k]) + os.sep
                    for k in ("stdlib", "platstdlib", "purelib", "platlib")})


def source_file(cls: object) -> str | None:
    """The file defining ``cls`` (a class or function), or None for built-ins
    and classes made at run time."""
    try:
        return inspect.getsourcefile(cls)  # type: ignore[arg-type]
    except (TypeError, OSError):
        return None


def user_site(exc: BaseException, owner: object = None) -> str | None:
    """``file:line in function`` of the innermost frame of ``exc``'s traceback
    in ``owner``'s file, else the innermost frame outside admf; None when
    every frame is admf's own (a built-in component failed)."""
    frames = traceback.extract_tb(exc.__traceback__)
    wanted = source_file(owner) if owner is not None else None
    chosen = None
    for frame in frames:
        if wanted is not None and os.path.abspath(frame.filename) == os.path.abspath(wanted):
            chosen = frame
    if chosen is None:  # the user's own frames first, then any library's
        outside = [f for f in frames if not os.path.abspath(f.filename).startswith(_ADMF)
                   and not f.filename.startswith("<")]
        own = [f for f in outside if not os.path.abspath(f.filename).startswith(_LIBRARIES)]
        pool = own or outside
        chosen = pool[-1] if pool else None
    if chosen is None:
        return None
    return f"{chosen.filename}:{chosen.lineno} in {chosen.name}"
