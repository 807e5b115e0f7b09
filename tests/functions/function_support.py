"""Deployment packages and checks for the functions tests."""

from __future__ import annotations

import io
import textwrap
import zipfile

from tests.harness import RunningServer

ROLE = "arn:aws:iam::000000000000:role/x"


def package(files: dict[str, str]) -> bytes:
    """A zip, as `zip` or a build tool would make it, of ``files`` (name -> source, dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


def assert_no_traceback(server: RunningServer) -> None:
    """Nothing went wrong on the server's side (204 answers, e.g. DeleteFunction, carry no body)."""
    assert "Traceback" not in server.log(), server.log()
