"""``python -m servicesim``: the same as the ``servicesim`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
