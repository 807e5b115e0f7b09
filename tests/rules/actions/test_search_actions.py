"""The elasticsearch and openSearch actions: a PUT of the output to ``{endpoint}/{index}/_doc/{id}``."""

from __future__ import annotations

import httpx
import orjson
import pytest

from corral.broker.message import Message
from tests.rules.support import ROLE, make_harness, republish


@pytest.mark.parametrize(
    ("name", "failed_action"), [("elasticsearch", "ElasticsearchAction"), ("openSearch", "OpenSearchAction")]
)
async def test_the_output_is_indexed_at_the_templated_document(name: str, failed_action: str) -> None:
    h = make_harness(action_retries=0)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201 if request.url.path.endswith("/ok") else 503)

    h.services._http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    spec = {
        "roleArn": ROLE,
        "endpoint": "https://search.local:9200/",
        "index": "${topic(1)}",
        "type": "_doc",
        "id": "${topic(2)}",
    }
    h.rule("r", "SELECT * FROM '+/+'", [{name: spec}], error_action=republish("errors"))
    await h.send(Message("clicks/ok", b'{"n": 1}', 0))
    [request] = seen
    assert (request.method, str(request.url)) == ("PUT", "https://search.local:9200/clicks/_doc/ok")
    assert request.headers["content-type"] == "application/json" and request.content == b'{"n":1}'
    await h.send(Message("clicks/busy", b"{}", 0))
    [failure] = orjson.loads(h.published[0].payload)["failures"]
    assert failure == {
        "failedAction": failed_action,
        "failedResource": "https://search.local:9200/clicks/_doc/busy",
        "errorMessage": "Received a response with HTTP status code 503",
    }
