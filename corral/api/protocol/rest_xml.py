"""The rest-xml protocol: S3 (path-style addressing; the bucket is the first path segment).

Like rest-json for the path, query and headers (rest.py); bodies are XML: the ``payload`` member's
element, or the raw bytes of a blob payload (an object's content). Errors are S3's
``<Error><Code>NoSuchKey</Code><Message>...</Message><RequestId>...</RequestId></Error>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from botocore.model import OperationModel, ServiceModel, Shape

from corral.api.protocol.base import ErrorReply, Protocol, register, serialization_error
from corral.api.protocol.message import HttpRequest, HttpResponse
from corral.api.protocol.rest import (
    body_member_names,
    check_output,
    is_streaming_payload,
    read_rest_request,
    write_bound_members,
)
from corral.api.protocol.xmlbody import read_element, read_structure, to_bytes, write_element, write_structure

XML_CONTENT_TYPE = "application/xml"


def _parse_xml(operation: OperationModel, body: bytes) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise serialization_error(
            operation,
            "The XML you provided was not well-formed or did not validate against our published schema",
        ) from exc


class RestXmlProtocol(Protocol):
    name = "rest-xml"

    def parse_request(
        self, operation: OperationModel, request: HttpRequest, path_params: Mapping[str, str]
    ) -> dict[str, Any]:
        def payload(member: Shape, name: str) -> Any:
            return read_element(member, _parse_xml(operation, request.body), name)

        def members(shape: Shape) -> dict[str, Any]:
            root = _parse_xml(operation, request.body)
            return read_structure(shape, root, names=set(body_member_names(shape)))

        return read_rest_request(operation, request, path_params, payload, members)

    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        status = int(operation.http.get("responseCode", 200))
        headers = {"x-amzn-RequestId": request_id, "x-amz-request-id": request_id}
        if shape is None:
            return HttpResponse(status, headers, b"")
        check_output(shape, output)
        status_member, bound = write_bound_members(shape, output)
        headers.update(bound)
        payload = shape.serialization.get("payload")
        body = b""
        if is_streaming_payload(shape, payload):
            assert payload is not None
            value = output.get(payload)
            body = value.encode("utf-8") if isinstance(value, str) else bytes(value or b"")
        elif payload is not None:
            value = output.get(payload)
            if value is not None:
                member = shape.members[payload]
                root = write_element(None, member, value, member.serialization.get("name", payload))
                body = to_bytes(root)
                headers.setdefault("Content-Type", XML_CONTENT_TYPE)
        else:
            names = set(body_member_names(shape))
            if any(output.get(name) is not None for name in names):
                root = ElementTree.Element(shape.serialization.get("name", f"{operation.name}Result"))
                write_structure(root, shape, output, names=names)
                body = to_bytes(root)
                headers.setdefault("Content-Type", XML_CONTENT_TYPE)
        return HttpResponse(status_member or status, headers, body)

    def serialize_error(self, service: ServiceModel, error: ErrorReply, request_id: str) -> HttpResponse:
        root = ElementTree.Element("Error")
        ElementTree.SubElement(root, "Code").text = error.wire_code
        ElementTree.SubElement(root, "Message").text = error.message
        for key, value in error.extra.items():
            if value is not None:
                ElementTree.SubElement(root, key).text = str(value)
        ElementTree.SubElement(root, "RequestId").text = request_id
        headers = {
            "x-amzn-RequestId": request_id,
            "x-amz-request-id": request_id,
            "x-amzn-ErrorType": error.wire_code,
            "Content-Type": XML_CONTENT_TYPE,
        }
        return HttpResponse(error.status, headers, to_bytes(root))


register(RestXmlProtocol())
