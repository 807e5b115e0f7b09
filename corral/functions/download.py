"""GetFunction's ``Code.Location``: the package as uploaded, served over HTTP like AWS's presigned URL.

The URL names the package's revision (a random 128-bit id that changes with every code update), which is
the capability, as a presigned URL's signature is on AWS.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from corral.functions.names import NAME
from corral.functions.service import FunctionService

ROUTE = "/corral/function-code/{name}/{revision}.zip"
_REVISION = re.compile(r"[0-9a-f]{32}")


def code_url(base_url: str, name: str, revision: str) -> str:
    return f"{base_url}/corral/function-code/{name}/{revision}.zip"


async def download(service: FunctionService, request: Request) -> Response:
    name = str(request.path_params["name"])
    revision = str(request.path_params["revision"])
    path = service.code.zip_file(name, revision)
    if NAME.fullmatch(name) is None or _REVISION.fullmatch(revision) is None or not path.is_file():
        return PlainTextResponse("Not Found", status_code=404)
    return FileResponse(path, media_type="application/zip")
