"""Render worker processes for the PDF writers (writers/pdf.py). Standard library only at import time:
the build starts them before it imports the engine and the renderer, so that their start-up overlaps
its own."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_parent(parent: int) -> None:
    """The kernel kills this worker when the build process dies, however it dies (SIGKILL included), so
    no orphaned worker keeps its ~200 MB. Linux only; elsewhere the pool's own shutdown on a clean exit
    or SIGTERM still applies."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the call above took effect
        os._exit(1)


def _start_worker(parent: int) -> None:
    """Render worker initializer: die with the build, import the renderer and start the chart runtime
    (its first chart costs ~0.5 s), all while the build is still computing the metrics."""
    _die_with_parent(parent)
    from .. import charts, printing  # noqa: F401  (WeasyPrint: what the tasks draw PDFs with)

    charts.warm_up()


def _started() -> None:
    """A task that does nothing: submitting one per process makes the pool start them all at once."""


class RenderWorkers:
    """Render processes, started when the build starts so that their imports and the chart runtime's
    start-up overlap the engine's SQL rather than follow it.

    spawn, not fork (fork-based workers have crashed WeasyPrint upstream). No max_tasks_per_child: on
    Python 3.11 a pool that recycles its workers can hang for good once they exit (seen here after 2 × 8
    scorecards); WeasyPrint's memory stays flat over many documents anyway."""

    def __init__(self, processes: int):
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),))
        for _ in range(processes):
            self.pool.submit(_started)

    def stop(self) -> None:
        """Stop at once (a failed, interrupted or skipped build): pending jobs are cancelled and running
        workers are killed rather than waited for. Python 3.11 has no public call for the latter."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, AttributeError):
                process.kill()

    def close(self) -> None:
        self.pool.shutdown()


@contextlib.contextmanager
def render_workers(processes: int):
    """`processes` render workers for the length of the block (None for one process: render in this
    one); stopped at once when the block fails, closed when it ends."""
    if processes <= 1:
        yield None
        return
    workers = RenderWorkers(processes)
    try:
        yield workers
    except BaseException:
        workers.stop()
        raise
    workers.close()
