"""The what-if page, ``servicesim app``: a local web page over the public API.

The page edits a loaded scenario through dotted-key overrides (the loader's validation and
messages), runs today against the edited scenario under common random numbers
(:func:`servicesim.experiment.compare.compare`), draws the ROI-versus-target curve of a
quick sweep on demand, and sets the derived policies' predicted service beside the
simulated one (DOMAIN §3, §5, §6).

Framework-free logic lives in :mod:`.controls` (controls → overrides, errors per control),
:mod:`.folder` (the results folder the page may read and write) and :mod:`.jobs`
(simulations off the request thread, cancellable); :mod:`.page` is the Shiny page and
imports Shiny, which only ``pip install 'servicesim[app]'`` brings.
"""

from __future__ import annotations

from collections.abc import Callable

INSTALL_HINT = "the app needs the app extra: pip install 'servicesim[app]'"
"""What to do when the web framework is missing."""


class AppError(RuntimeError):
    """The page cannot start: the message says why and what to do."""


class AppUnavailable(AppError):
    """The web framework (Shiny for Python) is not installed: the message says how to."""


def _check_port(host: str, port: int) -> None:
    """An AppError if ``host:port`` cannot be listened on (taken, or not this machine's)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.bind(infos[0][4])
    except OSError as exc:
        raise AppError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose "
                       "another --port (or --host)") from None


def serve(scenario: str | None = None, *, host: str = "127.0.0.1", port: int = 8050,
          results_dir: str = "results",
          announce: Callable[[str], None] | None = None) -> None:
    """Start the page on ``host:port`` and serve it until Ctrl-C.

    ``scenario`` is the file loaded at start (default ``scenarios/baseline.yaml`` when it
    exists); the page reads and writes only inside ``results_dir``.  ``announce`` is
    called with the page's address once it is about to serve.  Raises
    :class:`AppUnavailable` without the ``app`` extra, :class:`AppError` for a port that
    cannot be used and :class:`~servicesim.errors.ScenarioError` for a scenario that does
    not load.
    """
    try:
        import shiny  # noqa: F401  (the framework, imported only here)
        import uvicorn
    except ImportError:
        raise AppUnavailable(INSTALL_HINT) from None
    from .page import make_app

    _check_port(host, port)
    app = make_app(scenario, results_dir)
    if announce is not None:
        shown = f"[{host}]" if ":" in host else host
        announce(f"http://{shown}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning")
