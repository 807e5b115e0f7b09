"""The registry's one service object: it finds the handler of an AWS IoT operation among its parts.

Each part (things, certificates, policies, ...) is a class whose public async methods are the operations,
named in snake case (``create_thing``): each takes the operation's input members as botocore
names them and returns its output members; helpers are private (``_name``). Only the parts touch the
registry's tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from corral.registry.context import RegistryContext, snake_case

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class RegistryService:
    def __init__(self, context: RegistryContext, parts: list[object]) -> None:
        self.context = context
        self._handlers: dict[str, Handler] = {}
        for part in parts:
            for name in dir(part):
                if name.startswith("_"):
                    continue
                method = getattr(part, name)
                if callable(method) and getattr(method, "__self__", None) is part:
                    if name in self._handlers:
                        raise ValueError(f"two registry parts implement {name}")
                    self._handlers[name] = method

    def handler(self, operation_name: str) -> Handler | None:
        return self._handlers.get(snake_case(operation_name))

    @property
    def operations(self) -> set[str]:
        return set(self._handlers)
