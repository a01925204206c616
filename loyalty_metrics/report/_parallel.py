"""Work done in a forked copy of this process, beside what this process does meanwhile.

A report's sections are independent once the figures they share (the order kernel, the
headline KPIs, the customer summary) exist. A forked copy of the process starts at once with
all of them (the pages are shared until either process writes to them), computes its
sections on the second core and sends back plain results through a pipe, each as soon as it
is computed: no data are copied or pickled on the way in, and only the small results on the
way out. A figure that needs less can start earlier in a copy of its own (the report's CLV
holdout check, once the orders are netted); a copy forked after it inherits the pipe and can
take its value where it needs it, while the process that started it reaps it.

Fork is used only where it is safe and pays: on Linux (the copy is made with the threads
of pyarrow's pool and the chart worker's manager present; the copy never uses either, and
pyarrow re-creates its pool after a fork), with two or more cores available. Anywhere else,
and whenever the copy dies or its result cannot be sent, the work runs in this process when
its result is asked for: the result is the same either way. A copy that does not answer in
time (a fork can deadlock on a lock another thread held at that instant) is stopped and its
work done here too, so that an unattended report always ends.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Beside", "beside", "can_fork"]

T = TypeVar("T")


def can_fork() -> bool:
    """True where :func:`beside` forks: Linux, with two or more cores for this process.

    Examples
    --------
    >>> isinstance(can_fork(), bool)
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    return len(os.sched_getaffinity(0)) >= 2


class Beside(Generic[T]):
    """The values of ``funcs``, computed in order in a forked copy of this process (see
    :func:`beside`); each is sent back as soon as it is computed."""

    def __init__(self, *funcs: Callable[[], T]) -> None:
        import multiprocessing

        self._funcs = funcs
        self._taken = 0  # values handed out so far (by ready, result or rest)
        self._broken = False  # the copy failed, died or was stopped: rest() computes the rest
        self._started = time.monotonic()
        self._owner = os.getpid()
        # Objects moved to the permanent generation are not visited by either process's
        # garbage collector, so their pages stay shared instead of being copied (gc.freeze's
        # documented use before a fork).
        gc.freeze()
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        with warnings.catch_warnings():
            # Python 3.12+ warns on every fork of a process that has threads. Those here are
            # pyarrow's pool (re-created in the copy) and the chart worker's manager thread,
            # which the copy never touches.
            warnings.simplefilter("ignore", DeprecationWarning)
            self._process = context.Process(target=_compute, args=(funcs, send), daemon=True)
            self._process.start()
        send.close()  # ours is the receiving end only: EOF once the copy is gone

    def ready(self) -> list[T]:
        """The next values the copy has sent, in order, without waiting (each value is
        handed out once; one the copy failed to compute is left to :meth:`rest`)."""
        out: list[T] = []
        try:
            while self._taken < len(self._funcs) and self._receive.poll(0):
                ok, value = self._receive.recv()
                if not ok:  # computed here by rest(), in its turn
                    self._broken = True
                    break
                out.append(value)
                self._taken += 1
        except (EOFError, OSError):  # gone: rest() computes what is left
            self._broken = True
        return out

    def rest(self, patience: float = 120.0) -> list[T]:
        """The values not handed out yet, waiting for them; those the copy failed to compute
        or could not send, or did not compute because it died, are computed here.

        A copy that has not sent its next value ``patience`` seconds after this process
        started waiting, nor within four times as long as it has been at work by then, is
        stopped and the rest computed here: a fork can deadlock on a lock some other thread
        held at that instant, and an unattended report must end.
        """
        out: list[T] = []
        waiting = time.monotonic()
        try:
            while not self._broken and self._taken < len(self._funcs):
                allowed = max(patience, 4 * (waiting - self._started)) - (
                    time.monotonic() - waiting
                )
                # ready once the copy answered, or died (the end of the pipe is readable)
                if not self._receive.poll(max(allowed, 0.0)):
                    break
                ok, value = self._receive.recv()
                if not ok:
                    break
                out.append(value)
                self._taken += 1
        except (EOFError, OSError):  # the copy died before answering (killed, out of memory)
            pass
        finally:
            self.cancel()
        # Failed, died or hung there: compute here (an error then surfaces with its traceback).
        out.extend(func() for func in self._funcs[self._taken :])
        self._taken = len(self._funcs)
        return out

    def result(self, patience: float = 120.0) -> T:
        """The value of the last function (of the only one, usually), waiting for it."""
        return self.rest(patience)[-1]

    def cancel(self) -> None:
        """Stop waiting for the copy: stop it if it is still at work, and reap it.

        In a process forked from this one after the copy was started (a sibling of the copy),
        :meth:`result` can take the copy's values too, and this only lets go of the pipe:
        the process that started the copy stops and reaps it.
        """
        self._receive.close()
        if os.getpid() != self._owner:
            return
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        gc.unfreeze()

    __call__ = result


class _Here(Generic[T]):
    """The values of ``funcs``, computed here when asked for (where :func:`can_fork` is
    False): the same interface as :class:`Beside`."""

    def __init__(self, *funcs: Callable[[], T]) -> None:
        self._funcs = funcs
        self._taken = 0

    def ready(self) -> list[T]:
        return []

    def rest(self, patience: float = 120.0) -> list[T]:
        out = [func() for func in self._funcs[self._taken :]]
        self._taken = len(self._funcs)
        return out

    def result(self, patience: float = 120.0) -> T:
        return self.rest(patience)[-1]

    def cancel(self) -> None:
        """Nothing to stop."""

    __call__ = result


def beside(*funcs: Callable[[], T]) -> Beside[T] | _Here[T]:
    """Start computing ``funcs`` (in order) in a forked copy of this process now.

    Call the result for the value of the last (usually only) one, or take the values as
    they come with ``ready()`` (those sent so far) and ``rest()`` (waiting). The functions
    see everything this process has computed so far; what they change stays in the copy.
    Their values must be picklable. Where :func:`can_fork` is False, they run here when
    their values are asked for. Values that will not be asked for: ``cancel()``.

    Examples
    --------
    >>> import numpy as np
    >>> data = np.arange(1_000_000)
    >>> total = beside(lambda: int(data.sum()))  # the copy sees ``data`` without a copy
    >>> total()
    499999500000
    >>> both = beside(lambda: 1, lambda: 2)
    >>> both.rest()
    [1, 2]
    """
    if not can_fork():
        return _Here(*funcs)
    return Beside(*funcs)


def _compute(funcs: tuple[Callable[[], Any], ...], send: Any) -> None:
    """In the copy: compute each, send ``(ok, value)`` at once, never raise (the parent
    redoes failures)."""
    try:
        for func in funcs:
            try:
                send.send((True, func()))
            except BaseException:  # failed, or the value does not pickle: redone there
                send.send((False, None))
                return
    finally:
        send.close()
