"""What to tell a user whose install lacks an optional extra.

The package is not on PyPI: extras install from a clone of the repository
(``pip install '.[ray]'``). Every hint says that, never
``pip install 'nanoservices[ray]'``, which would look for the package on PyPI.
"""

from __future__ import annotations

__all__ = ["install_hint", "missing_extra"]


def install_hint(extra: str) -> str:
    """How to install ``extra``: from the clone, quoted so shells leave the brackets alone."""
    return f"pip install '.[{extra}]' in your clone of nanoservices (it is not on PyPI)"


def missing_extra(feature: str, needs: str, extra: str, module: str) -> ModuleNotFoundError:
    """The error for ``feature`` used without ``module`` (``needs`` names it for people)."""
    return ModuleNotFoundError(
        f"{feature} needs {needs}, from the {extra!r} extra: {install_hint(extra)}",
        name=module,
    )
