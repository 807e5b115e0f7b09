"""The elasticsearch and openSearch actions: the statement's output indexed as one document.

AWS (developerguide/elasticsearch-rule-action.html, opensearch-rule-action.html; API ElasticsearchAction,
OpenSearchAction): ``endpoint`` (the domain's URL), ``index``, ``type``, ``id`` (templates: ``${newuuid()}``
is usual), ``roleArn`` (required, kept, unused), all required. Corral sends ``PUT
{endpoint}/{index}/_doc/{id}`` with the output as the JSON body, which Elasticsearch 7+ and OpenSearch answer;
``type`` is checked and not sent (mapping types are gone from both). Where AWS signs the request with SigV4
for its managed domains, Corral sends it unsigned, to any ``http://`` or ``https://`` endpoint (a self-hosted
cluster). A 2xx answer is success; another status, a refused connection or a timeout is a failed action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from corral.rules.actions.base import (
    ActionContext,
    ActionError,
    ActionServices,
    ActionSpecError,
    require_str,
)
from corral.rules.actions.common import role_arn, template
from corral.rules.templates import Template, TemplateCompiler


@dataclass(frozen=True, slots=True)
class SearchIndexAction:
    endpoint: str
    index: Template
    type: Template
    id: Template
    services: ActionServices
    failed_action: str

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        import httpx

        index = await ctx.render(self.index)
        doc_id = await ctx.render(self.id)
        url = f"{self.endpoint}/{quote(index, safe='')}/_doc/{quote(doc_id, safe='')}"
        if not index or not doc_id:
            raise ActionError("The index and the document id must not be empty", url)
        headers = {"content-type": "application/json"}
        try:
            response = await self.services.http_client().put(url, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise ActionError(f"HTTP request failed: {type(exc).__name__}: {exc}", url) from exc
        if not 200 <= response.status_code < 300:
            raise ActionError(f"Received a response with HTTP status code {response.status_code}", url)


def _builder(
    action: str, failed_action: str
) -> Callable[[Mapping[str, Any], TemplateCompiler, ActionServices], SearchIndexAction]:
    def build(
        spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices
    ) -> SearchIndexAction:
        role_arn(spec, action)
        endpoint = require_str(spec, "endpoint", action).rstrip("/")
        if not endpoint.startswith(("https://", "http://")):
            raise ActionSpecError(f"The {action} action's endpoint must be an https:// or http:// URL")
        return SearchIndexAction(
            endpoint,
            template(spec, "index", action, compile),
            template(spec, "type", action, compile),
            template(spec, "id", action, compile),
            services,
            failed_action,
        )

    return build


build_elasticsearch = _builder("elasticsearch", "ElasticsearchAction")
build_opensearch = _builder("openSearch", "OpenSearchAction")
