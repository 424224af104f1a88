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
Only the first signal interrupts: later ones are ignored, so that a second Ctrl-C cannot cut
short the saving and stopping the first one started.

A pool worker whose main process was killed outright (``kill -9``, the out-of-memory killer)
ends itself within about :data:`PARENT_CHECK_SECONDS`: see :func:`_worker_init`.

Dask is imported only here, and only when asked for, so ``import servicesim`` stays fast.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager, suppress
from types import FrameType, TracebackType
from typing import Any

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "PARENT_CHECK_SECONDS", "ExecutorError", "ProcessPool",
           "Terminated", "ignoring_interrupts", "make_executor", "pool_or_given",
           "signal_number", "stop_pool", "terminate_as_interrupt"]

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler to answer before giving up."""


class ExecutorError(Exception):
    """The requested way of running could not be set up; the message says why."""


PARENT_CHECK_SECONDS = 0.5
"""How often a pool worker checks that the process that started it is still there."""


def _worker_init(main_pid: int) -> None:
    """Pool-worker initializer.

    Ctrl-C is for the main process, which stops the pool; SIGTERM ends the worker (a forked
    worker would otherwise inherit the main process's handler).  A daemon thread ends the
    worker once its parent is gone.  The parent is watched through ``os.getppid()``, which
    changes when the parent dies and the worker is adopted by another process: it needs no
    file descriptor of the parent's, whereas a pipe's end-of-file would never come for a
    forked worker, since its siblings inherit the parent's end of the pipe; and it costs one
    system call every :data:`PARENT_CHECK_SECONDS`.  ``main_pid`` is the process that made
    the pool: when it is the parent (fork, spawn) and already gone, the worker ends at once.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # what a forked worker inherits from the main process (a loaded item master, the rows
    # of a search) lives as long as the worker: out of the collector's sight, a collection
    # walks only the worker's own objects (measured: 0.2 s instead of 0.08 s after a 1,000-
    # SKU run, with the main process's 300 MB inherited) and copies none of its pages
    gc.freeze()
    if hasattr(signal, "pthread_sigmask"):  # forked with both blocked: see ProcessPool.submit
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)
    parent = os.getppid()
    if parent != main_pid and not _alive(main_pid):
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="servicesim-parent-watch",
                     daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to someone else
        return True
    return True


def _watch_parent(parent: int) -> None:
    """End this process (without cleanup: nobody waits for its results) once its parent is
    no longer ``parent``."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM received: handled like Ctrl-C (finished work kept), exit code 143."""

    signum = int(signal.SIGTERM)


_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def terminate_as_interrupt(*, for_good: bool = False) -> Iterator[None]:
    """Within the block, the first Ctrl-C raises ``KeyboardInterrupt`` and the first SIGTERM
    raises :class:`Terminated` in the main thread; from then on both signals are ignored, so
    that a second one cannot break off the saving of rows and the stopping of workers that
    the first started (a signal inside ``concurrent.futures``' shutdown can leave the pool's
    thread waiting for ever).  After the block the previous handlers come back, unless an
    interrupt came and ``for_good`` is set (a program about to end): then the signals stay
    ignored, since the interpreter still joins the pool's thread at exit and a signal there
    would end the process by SIGINT instead of with its exit code.  Elsewhere than in the
    main thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        fired = True
        for each in _INTERRUPTS:
            signal.signal(each, signal.SIG_IGN)
        if signum == signal.SIGTERM:
            raise Terminated(f"terminated by signal {signum}")
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, handler) for signum in _INTERRUPTS}
    try:
        yield
    finally:
        if not (fired and for_good):
            for signum, before in previous.items():
                signal.signal(signum, before)


@contextmanager
def _interrupts_blocked() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM wait (in this thread, and in processes forked
    from it, which inherit the mask) until the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextmanager
def ignoring_interrupts(*, defer: bool = False) -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM do not interrupt (main thread only): for saving
    what an interrupt left, so that a second Ctrl-C cannot cut the saving short.  They are
    dropped, or with ``defer`` (a checkpoint during a run) the first of them is sent again
    when the block ends, to the handler in place before it: the checkpoint is finished,
    then the interrupt takes its course."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    previous = {signum: signal.signal(signum, note if defer else signal.SIG_IGN)
                for signum in _INTERRUPTS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])


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
    # Let the pool's manager thread finish its clean-up now: on Python before 3.12 the
    # interpreter's exit hook can write to the wake-up pipe that thread is closing, and
    # prints "Exception ignored ... Bad file descriptor" when the two meet.
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None and manager is not threading.current_thread():
        manager.join(timeout=15)  # a loaded machine can take seconds


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
        return ProcessPoolExecutor(max_workers=self.workers, initializer=_worker_init,
                                   initargs=(os.getpid(),))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        # the first submissions fork the workers: a signal to the process group in the
        # instant before a new worker's initializer ignores it would raise in that worker,
        # so the workers are forked with Ctrl-C and SIGTERM blocked (here they are handled
        # as soon as the submission is done)
        with _interrupts_blocked():
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


def _check_address(scheduler: str) -> None:
    """Raise :class:`ExecutorError` for what cannot be a scheduler's address, at once."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(scheduler)
        get_backend(scheme)
        if scheme in ("tcp", "tls") and not 0 < parse_host_port(location)[1] < 2 ** 16:
            raise ValueError("the port must be 1 to 65535")
    except ValueError as exc:
        raise ExecutorError(f"--scheduler {scheduler}: not a Dask scheduler address ({exc}); "
                            "give one such as tcp://host:8786") from None


def _probe(scheduler: str, timeout: float) -> str | None:
    """Why the Dask scheduler at ``scheduler`` cannot be used, or ``None`` when it answered
    a request for its identity within ``timeout`` seconds.

    ``distributed.Client`` waits for ever on a peer that accepts the connection and never
    answers, and a client it failed to make complains again while being collected; asking
    first, on a comm of our own under one deadline, avoids both.  The request runs in a
    thread of its own (an event loop may be running in this one, as in a notebook).
    """
    import asyncio

    from distributed.comm import connect

    async def identity() -> None:
        comm = await connect(scheduler, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            await comm.read()
        finally:
            with suppress(Exception):
                await comm.abort()

    outcome: list[str | None] = []

    def ask() -> None:
        try:
            asyncio.run(asyncio.wait_for(identity(), timeout))
        except TimeoutError:
            outcome.append(f"nothing answered within {timeout:g} s")
        except ValueError as exc:
            outcome.append(f"not a scheduler address ({exc})")
        except Exception as exc:  # noqa: BLE001 - refused, malformed address, ...
            outcome.append(" ".join(str(exc).split()) or type(exc).__name__)
        else:
            outcome.append(None)

    thread = threading.Thread(target=ask, name="servicesim-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 5)
    return outcome[0] if outcome else f"nothing answered within {timeout:g} s"


@contextmanager
def _dask_client(scheduler: str, connect_timeout: float) -> Iterator[tuple[Executor, str]]:
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - a dependency of servicesim
        raise ExecutorError(f"--scheduler needs dask.distributed ({exc}); "
                            "pip install 'dask[distributed]'") from None
    _check_address(scheduler)
    problem = _probe(scheduler, connect_timeout)
    if problem is None:
        try:
            client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - refused, timed out, malformed address, ...
            problem = " ".join(str(exc).split()) or type(exc).__name__
    if problem is not None:
        raise ExecutorError(
            f"--scheduler {scheduler}: no Dask scheduler answered (waited at most "
            f"{connect_timeout:g} s): {problem[:200]}; check the address (tcp://host:port) "
            "and that the scheduler is running")
    # the client (and, for its executor's futures, tornado) logs the failed reconnections
    # with tracebacks when the scheduler goes away; what went wrong is told once, by the
    # exception the run ends with
    with _silenced("distributed.client", "tornado.application"):
        try:
            try:
                client.wait_for_workers(1, timeout=connect_timeout)
            except Exception:  # noqa: BLE001 - dask's TimeoutError, or the scheduler left
                raise ExecutorError(
                    f"--scheduler {scheduler}: the Dask scheduler has no workers (waited "
                    f"{connect_timeout:g} s); start some with `dask worker {scheduler}`"
                ) from None
            workers = len(client.scheduler_info().get("workers", {}))
            where = f"Dask cluster at {scheduler} ({_count(workers, 'worker', 'workers')})"
            yield client.get_executor(pure=False), where
        finally:
            with suppress(Exception):
                client.close(timeout=connect_timeout)


@contextmanager
def _silenced(*names: str) -> Iterator[None]:
    """Within the block, the loggers ``names`` log only CRITICAL messages."""
    import logging

    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


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


@contextmanager
def pool_or_given(executor: Executor | None, workers: int | None, tasks: int | None = None
                  ) -> Iterator[Executor | None]:
    """The executor given, or one process pool of ``workers`` (default: all cores) for a
    whole run, or none (serially in this process) for ``workers=1`` or when ``tasks`` says
    there is at most one task."""
    if executor is not None or workers == 1 or (tasks is not None and tasks <= 1):
        yield executor
        return
    with make_executor(workers=workers) as (pool, _):
        yield pool
