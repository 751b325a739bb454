r"""The talk's md5 service, for real: a hashing nanoservice for any hashlib algorithm.

Send ``str`` or ``bytes``, get the hex digest. The request type is declared, so
anything else is refused with ``InvalidRequestError`` before the service sees
it, and the service keeps serving. Unlike the talk's version, no request ends
it (an empty string has a digest too); close the handle instead.

```python
h = md5()
h("hello")                       # '5d41402abc4b2a76b9719d911017c592'
sha = hasher("sha256")
sha(b"\x00\x01")
```
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable, Generator
from typing import Any, Final, cast

from nanoservices import NO_REPLY, refuse, service

__all__ = ["ALGORITHMS", "hasher", "md5"]

#: The algorithms [`hasher`][] takes: hashlib's, less the variable-length
#: ``shake_*`` ones (their ``hexdigest`` needs a length).
ALGORITHMS: Final = frozenset(
    name for name in hashlib.algorithms_available if not name.startswith("shake_")
)


def _constructor(algorithm: str) -> Callable[[bytes], Any]:
    """hashlib's constructor for ``algorithm``; ValueError, with the choices, if none."""
    name = algorithm.lower() if isinstance(algorithm, str) else algorithm
    if isinstance(name, str) and name.startswith("shake_"):
        raise ValueError(f"{algorithm!r} has a variable-length digest; pick a fixed-length one")
    if name not in ALGORITHMS:
        shown = ", ".join(sorted(ALGORITHMS))
        raise ValueError(f"unknown hash algorithm {algorithm!r}; available: {shown}")
    # hashlib.md5 and friends skip hashlib.new's name lookup on every request.
    named = getattr(hashlib, name, None)
    if callable(named):
        return cast(Callable[[bytes], Any], named)
    return lambda data: hashlib.new(name, data)


@service(name="hasher")
def hasher(algorithm: str = "md5", encoding: str = "utf-8") -> Generator[str, str | bytes, None]:
    """Reply to each ``str`` or ``bytes`` request with its hex digest.

    Args:
        algorithm: any of [`ALGORITHMS`][] (``"md5"``, ``"sha256"``, ``"blake2b"``...),
            case-insensitive.
        encoding: how ``str`` requests become bytes; ``bytes`` are hashed as they are.

    A ``str`` the encoding cannot encode is refused (``InvalidRequestError``);
    the service keeps serving. An unknown algorithm or encoding stops the service at construction:
    ``ServiceFailedError`` ("could not start") naming the service, with the
    ``ValueError`` or ``LookupError`` as its cause.
    """
    new = _constructor(algorithm)
    codecs.lookup(encoding)  # an unknown encoding fails here, at construction, not per request
    "".encode(encoding)  # so does a codec that is not a text encoding ("rot13")
    request = yield NO_REPLY
    while True:
        try:
            data = request.encode(encoding) if isinstance(request, str) else request
        except UnicodeEncodeError as exc:  # a lone surrogate, say: refused, still serving
            request = yield refuse(f"cannot encode it as {encoding}: {exc.reason}")
            continue
        request = yield new(data).hexdigest()


#: The talk's md5 service: ``md5()`` is a ready handle (``hasher`` named "md5").
md5: Final = hasher.with_options(name="md5")
