"""Where a sweep's tasks run: serial, local processes, or a Dask cluster.

:func:`make_executor` is a context manager that yields a ``concurrent.futures.Executor`` (or
``None`` for serial runs in this process) and a one-line description for people.  It starts
what it needs and stops it afterwards:

- ``workers=N`` (default: all cores): a :class:`ProcessPool` of N workers that ignore Ctrl-C,
  so an interrupt reaches only the main process, which keeps the finished rows and stops the
  pool; the pool can be rebuilt after a worker died (see
  :func:`servicesim.experiment.engine.execute`);
  ``workers=1`` runs serially;
- ``dask_local=N``: a ``dask.distributed.LocalCluster`` of N single-threaded worker processes;
- ``scheduler="tcp://host:port"``: an existing Dask cluster.  A scheduler that does not answer
  within ``connect_timeout`` seconds raises :class:`ExecutorError`, never hangs.

SIGTERM is made an interrupt like Ctrl-C by :func:`terminate_as_interrupt` (the command line
uses it), so ``kill PID`` keeps the finished rows too; the exception says which signal it was.

Dask is imported only here, and only when asked for, so ``import servicesim`` stays fast.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager, suppress
from types import FrameType, TracebackType
from typing import Any

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "ExecutorError", "ProcessPool", "Terminated",
           "ignoring_interrupts", "make_executor", "signal_number", "stop_pool",
           "terminate_as_interrupt"]

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler to answer before giving up."""


class ExecutorError(Exception):
    """The requested way of running could not be set up; the message says why."""


def _ignore_sigint() -> None:
    """Pool-worker initializer: Ctrl-C is for the main process, which stops the pool; SIGTERM
    ends the worker (a forked worker would otherwise inherit the main process's handler)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Terminated(KeyboardInterrupt):
    """SIGTERM received: handled like Ctrl-C (finished work kept), exit code 143."""

    signum = int(signal.SIGTERM)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (as Ctrl-C
    raises ``KeyboardInterrupt``); elsewhere than in the main thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(f"terminated by signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def ignoring_interrupts() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM are ignored (main thread only): for saving what
    an interrupt left, so that a second Ctrl-C cannot cut the saving short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def signal_number(interrupt: BaseException) -> int:
    """The signal behind an interrupt: SIGTERM for :class:`Terminated`, else SIGINT."""
    return int(getattr(interrupt, "signum", signal.SIGINT))


def _count(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a process pool now: cancel what has not started and end the running workers."""
    pool.shutdown(wait=False, cancel_futures=True)
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        with suppress(Exception):
            terminate()
        return
    processes: dict[Any, Any] = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        with suppress(Exception):
            process.terminate()


class ProcessPool(Executor):
    """A local process pool that can be rebuilt when one of its workers died.

    A ``ProcessPoolExecutor`` whose worker dies is broken for good; :meth:`restart` stops
    what is left of it and starts a new one of the same size.  Used as a context manager it
    shuts down normally after the block and stops the workers at once after an exception
    (Ctrl-C).  ``ProcessPool(pool=existing)`` adopts a ``ProcessPoolExecutor`` of the
    caller: it is used until it breaks and is then replaced by a pool of this object's own,
    which :meth:`shutdown` stops (the caller's pool stays the caller's to shut down).
    """

    def __init__(self, workers: int, pool: ProcessPoolExecutor | None = None) -> None:
        if workers < 1:
            raise ExecutorError(f"a process pool needs at least 1 worker (got {workers})")
        self.workers = workers
        self.restarts = 0
        self._owned = pool is None
        self._pool = pool if pool is not None else self._new()

    @staticmethod
    def adopting(pool: ProcessPoolExecutor) -> ProcessPool:
        """A restartable view of a caller's ``ProcessPoolExecutor`` (see the class)."""
        return ProcessPool(int(getattr(pool, "_max_workers", None) or os.cpu_count() or 1),
                           pool=pool)

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, initializer=_ignore_sigint)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._pool.submit(fn, *args, **kwargs)

    def restart(self) -> None:
        """Stop the current (broken) pool's workers and start a new pool."""
        if self._owned:
            stop_pool(self._pool)
        self._pool = self._new()
        self._owned = True
        self.restarts += 1

    def pids(self) -> list[int]:
        """Process ids of the current workers (started on first use)."""
        processes: dict[int, Any] = getattr(self._pool, "_processes", None) or {}
        return sorted(processes)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._owned:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def stop(self) -> None:
        """Cancel what has not started and end the running workers now."""
        if self._owned:
            stop_pool(self._pool)

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.shutdown(wait=True)
        else:
            self.stop()


@contextmanager
def _process_pool(workers: int) -> Iterator[tuple[Executor | None, str]]:
    with ProcessPool(workers) as pool:
        yield pool, _count(workers, "local process", "local processes")


def dask_setup(worker: Any) -> None:
    """Dask preload hook, run in each worker process of :func:`make_executor`'s
    LocalCluster: Ctrl-C is for the main process, which closes the cluster itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _dask_client(scheduler: str, connect_timeout: float) -> Iterator[tuple[Executor, str]]:
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - a dependency of servicesim
        raise ExecutorError(f"--scheduler needs dask.distributed ({exc}); "
                            "pip install 'dask[distributed]'") from None
    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - refused, timed out, malformed address, ...
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ExecutorError(
            f"--scheduler {scheduler}: no Dask scheduler answered (waited at most "
            f"{connect_timeout:g} s): {reason[:200]}; check the address (tcp://host:port) "
            "and that the scheduler is running") from None
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        where = f"Dask cluster at {scheduler} ({_count(workers, 'worker', 'workers')})"
        yield client.get_executor(pure=False), where
    finally:
        with suppress(Exception):
            client.close(timeout=connect_timeout)


@contextmanager
def _dask_local(workers: int) -> Iterator[tuple[Executor, str]]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a dependency of servicesim
        raise ExecutorError(f"--dask-local needs dask.distributed ({exc}); "
                            "pip install 'dask[distributed]'") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, preload=[__name__])
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield (client.get_executor(pure=False), "Dask LocalCluster of "
                   + _count(workers, "worker process", "worker processes"))
        finally:
            with suppress(Exception):
                client.close()
    finally:
        with suppress(Exception):
            cluster.close()


@contextmanager
def make_executor(workers: int | None = None, scheduler: str | None = None,
                  dask_local: int | None = None,
                  connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
                  ) -> Iterator[tuple[Executor | None, str]]:
    """Yield ``(executor, description)``: ``executor`` is ``None`` for a serial run.

    At most one of ``scheduler`` (a Dask scheduler address), ``dask_local`` (workers of a
    new LocalCluster) and ``workers`` (local processes; default all cores, 1 = serial) is
    used, in that order.  Raises :class:`ExecutorError` for a bad count or an unreachable
    scheduler.
    """
    if scheduler is not None and dask_local is not None:
        raise ExecutorError("give either --scheduler or --dask-local, not both")
    if scheduler is not None:
        if not scheduler.strip():
            raise ExecutorError("--scheduler needs an address such as tcp://host:8786")
        if not connect_timeout > 0:
            raise ExecutorError(f"the connect timeout must be > 0 s (got {connect_timeout})")
        with _dask_client(scheduler.strip(), connect_timeout) as made:
            yield made
        return
    if dask_local is not None:
        if dask_local < 1:
            raise ExecutorError(f"--dask-local needs at least 1 worker (got {dask_local})")
        with _dask_local(dask_local) as made:
            yield made
        return
    if workers is not None and workers < 1:
        raise ExecutorError(f"--workers must be at least 1 (got {workers})")
    count = workers or os.cpu_count() or 1
    if count == 1:
        yield None, "serially in this process"
        return
    with _process_pool(count) as made:
        yield made
