"""The query protocol (``Action=Publish&Version=...`` form posts, XML answers): SNS.

Input members are flattened into dotted names: ``Attributes.entry.1.key``, ``Tags.member.2.Value``
(``Name.N`` when the list is ``flattened``); an empty list is the bare name with an empty value. The answer
is ``<PublishResponse xmlns=...><PublishResult>...</PublishResult><ResponseMetadata><RequestId>``; errors
are ``<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>...``, where the code is the
shape's ``error.code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from botocore.model import OperationModel, ServiceModel, Shape

from corral.api.protocol.base import ErrorReply, Protocol, register, serialization_error
from corral.api.protocol.message import HttpRequest, HttpResponse
from corral.api.protocol.routing import form_fields
from corral.api.protocol.values import ValueConversionError, scalar_from_text
from corral.api.protocol.xmlbody import to_bytes, write_structure

XML_CONTENT_TYPE = "text/xml"


class _Fields:
    """The request's parameters, with every dotted prefix indexed so absent members are cheap to skip."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.values = fields
        self.prefixes: set[str] = set()
        for key in fields:
            parts = key.split(".")
            for end in range(1, len(parts) + 1):
                self.prefixes.add(".".join(parts[:end]))

    def read(self, shape: Shape, key: str) -> Any:
        if key and key not in self.prefixes:
            return None
        type_name = shape.type_name
        if type_name == "structure":
            result: dict[str, Any] = {}
            for name, member in shape.members.items():
                wire_name = member.serialization.get("name", name)
                value = self.read(member, f"{key}.{wire_name}" if key else wire_name)
                if value is not None:
                    result[name] = value
            return result
        if type_name == "list":
            return self._read_list(shape, key)
        if type_name == "map":
            return self._read_map(shape, key)
        text = self.values.get(key)
        if text is None:
            return None
        try:
            return scalar_from_text(shape, text)
        except ValueConversionError as exc:
            raise ValueConversionError(f"Invalid value for parameter {key}: {exc}") from exc

    def _read_list(self, shape: Shape, key: str) -> list[Any] | None:
        if self.values.get(key) == "":
            return []
        member_name = shape.member.serialization.get("name")
        if shape.serialization.get("flattened"):
            base = ".".join([*key.split(".")[:-1], member_name]) if member_name else key
        else:
            base = f"{key}.{member_name or 'member'}"
        items: list[Any] = []
        index = 1
        while f"{base}.{index}" in self.prefixes:
            items.append(self.read(shape.member, f"{base}.{index}"))
            index += 1
        return items if items else None

    def _read_map(self, shape: Shape, key: str) -> dict[str, Any] | None:
        base = key if shape.serialization.get("flattened") else f"{key}.entry"
        key_suffix = shape.key.serialization.get("name", "key")
        value_suffix = shape.value.serialization.get("name", "value")
        result: dict[str, Any] = {}
        index = 1
        while f"{base}.{index}" in self.prefixes:
            entry_key = self.read(shape.key, f"{base}.{index}.{key_suffix}")
            if entry_key is not None:
                result[entry_key] = self.read(shape.value, f"{base}.{index}.{value_suffix}")
            index += 1
        return result if result else None


def _namespace(service: ServiceModel) -> str | None:
    namespace = service.metadata.get("xmlNamespace")
    return str(namespace) if namespace else None


class QueryProtocol(Protocol):
    name = "query"

    def parse_request(
        self, operation: OperationModel, request: HttpRequest, path_params: Mapping[str, str]
    ) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        fields = {key: values[0] for key, values in request.query.items()}
        fields.update({key: values[0] for key, values in form_fields(request).items()})
        fields.pop("Action", None)
        fields.pop("Version", None)
        try:
            result = _Fields(fields).read(shape, "")
        except ValueConversionError as exc:
            raise serialization_error(operation, str(exc)) from exc
        return dict(result or {})

    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse:
        root = ElementTree.Element(f"{operation.name}Response")
        namespace = _namespace(operation.service_model)
        if namespace:
            root.set("xmlns", namespace)
        shape = operation.output_shape
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{operation.name}Result")
            write_structure(ElementTree.SubElement(root, wrapper), shape, output)
        metadata = ElementTree.SubElement(root, "ResponseMetadata")
        ElementTree.SubElement(metadata, "RequestId").text = request_id
        headers = {"x-amzn-RequestId": request_id, "Content-Type": XML_CONTENT_TYPE}
        return HttpResponse(200, headers, to_bytes(root))

    def serialize_error(self, service: ServiceModel, error: ErrorReply, request_id: str) -> HttpResponse:
        root = ElementTree.Element("ErrorResponse")
        namespace = _namespace(service)
        if namespace:
            root.set("xmlns", namespace)
        body = ElementTree.SubElement(root, "Error")
        ElementTree.SubElement(body, "Type").text = "Sender" if error.sender_fault else "Receiver"
        ElementTree.SubElement(body, "Code").text = error.wire_code
        ElementTree.SubElement(body, "Message").text = error.message
        for key, value in error.extra.items():
            if value is not None:
                ElementTree.SubElement(body, key).text = str(value)
        ElementTree.SubElement(root, "RequestId").text = request_id
        headers = {
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": error.wire_code,
            "Content-Type": XML_CONTENT_TYPE,
        }
        return HttpResponse(error.status, headers, to_bytes(root))


register(QueryProtocol())
