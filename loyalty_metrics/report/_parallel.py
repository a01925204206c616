"""Work done in a forked copy of this process, beside what this process does meanwhile.

A report's sections are independent once the figures they share (the order kernel, the
headline KPIs, the customer summary) exist. A forked copy of the process starts at once with
all of them (the pages are shared until either process writes to them), computes its
sections on the second core and sends back plain results through a pipe: no data are copied
or pickled on the way in, and only the small results on the way out.

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
    """The result of ``func()``, computed in a forked copy of this process (see :func:`beside`)."""

    def __init__(self, func: Callable[[], T]) -> None:
        import multiprocessing

        self._func = func
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
            self._process = context.Process(target=_compute, args=(func, send), daemon=True)
            self._process.start()
        send.close()  # ours is the receiving end only: EOF once the copy is gone

    def result(self, patience: float = 120.0) -> T:
        """The copy's result, waiting for it; computed here if the copy failed or died.

        A copy that has not answered ``patience`` seconds after this process started waiting,
        nor within four times as long as it has been at work by then, is stopped and its work
        done here: a fork can deadlock on a lock some other thread held at that instant, and
        an unattended report must end.
        """
        allowed = max(patience, 4 * (time.monotonic() - self._started))
        answer: tuple[bool, T] | None = None
        try:
            # ready once the copy answered, or died (the end of the pipe is readable)
            if self._receive.poll(allowed):
                answer = self._receive.recv()
        except (EOFError, OSError):  # the copy died before answering (killed, out of memory)
            answer = None
        finally:
            self.cancel()
        if answer is not None and answer[0]:
            return answer[1]
        # Failed, died or hung there: compute here (an error then surfaces with its traceback).
        return self._func()

    def cancel(self) -> None:
        """Stop waiting for the copy: stop it if it is still at work, and reap it.

        In a process forked from this one after the copy was started (a sibling of the copy),
        :meth:`result` can take the copy's answer too, and this only lets go of the pipe: the
        process that started the copy stops and reaps it.
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
    """``func()`` computed here when its value is asked for (where :func:`can_fork` is
    False): the same interface as :class:`Beside`."""

    def __init__(self, func: Callable[[], T]) -> None:
        self._func = func

    def result(self, patience: float = 120.0) -> T:
        return self._func()

    def cancel(self) -> None:
        """Nothing to stop."""

    __call__ = result


def beside(func: Callable[[], T]) -> Beside[T] | _Here[T]:
    """Start ``func()`` in a forked copy of this process now; call the result to get its value.

    ``func`` sees everything this process has computed so far; what it changes stays in the
    copy. Its return value must be picklable. Where :func:`can_fork` is False, ``func`` runs
    when its value is asked for. A value that will not be asked for: ``cancel()`` it.

    Examples
    --------
    >>> import numpy as np
    >>> data = np.arange(1_000_000)
    >>> total = beside(lambda: int(data.sum()))  # the copy sees ``data`` without a copy
    >>> total()
    499999500000
    """
    if not can_fork():
        return _Here(func)
    return Beside(func)


def _compute(func: Callable[[], Any], send: Any) -> None:
    """In the copy: compute, send ``(ok, value)``, never raise (the parent redoes failures)."""
    try:
        value = func()
        send.send((True, value))
    except BaseException:
        send.send((False, None))
    finally:
        send.close()
