"""Services for the dashboard's tests: one keeps secrets in its locals, one waits at
two places (a cart being filled, a cart at checkout)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from nanoservices import service


@service
def vault(password: str = "hunter2-do-not-show") -> Generator[Any, Any, None]:
    """Keeps a password and an API token in its locals; replies with the request."""
    api_token = "tok-never-shown-42"
    reply: Any = len(password) + len(api_token)
    while True:
        reply = yield reply


@service
def cart() -> Generator[Any, Any, None]:
    """Adds each request to the cart; ``"checkout"`` moves it to the checkout, where it
    waits at another line; ``"boom"`` fails."""
    items: list[Any] = []
    request = yield None
    while True:
        if request == "boom":
            raise ValueError("the cart broke")
        if request == "checkout":
            request = yield ("checking out", len(items))  # CHECKOUT
        else:
            items.append(request)
            request = yield len(items)  # FILLING
