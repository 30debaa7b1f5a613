"""The one error tree: every mistake a user can cause derives from :class:`CcpapersError`.

``cli.main`` catches ``CcpapersError`` once and prints ``ccpapers <command>: <message>``
(exit status 2, or the error's own ``exit_code``); the traceback is shown only with ``-v``.
Messages name the input (file, flag, key, URL) and say what to do about it; they pass the
secret scrubber (:mod:`ccpapers.secrets`), so an echoed key or URL password never shows.
"""

from __future__ import annotations


class CcpapersError(Exception):
    """Base of every user-facing error. ``str(err)`` is the whole message shown to the user."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError subclasses would otherwise quote the message
        from ccpapers.secrets import scrub

        return scrub(self.args[0]) if self.args else self.__class__.__name__


class InputError(CcpapersError, ValueError):
    """A file or folder the user pointed at is missing, empty, corrupt or of the wrong kind."""
