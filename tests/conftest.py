from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import RunningServer, make_server

ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """Starts servers on free ports under this test's tmp dir; each is stopped when the test ends."""
    started: list[RunningServer] = []

    def factory(**kwargs: Any) -> RunningServer:
        server = make_server(tmp_path, name=f"data{len(started)}", **kwargs).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def server(server_factory: ServerFactory) -> RunningServer:
    """A fresh server, with the loopback-only insecure MQTT port enabled too."""
    return server_factory(insecure=True)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for a whole test module, for tests that use distinct client ids and topics."""
    server = make_server(tmp_path_factory.mktemp("shared"), insecure=True).start()
    yield server
    server.stop()
