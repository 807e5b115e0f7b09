"""XML documents read into, and written from, model shapes: query responses and the rest-xml bodies.

Lists are ``<Name><member>...</member></Name>`` (the element name is the list member's ``locationName``)
or, when ``flattened``, repeated ``<Name>`` elements; maps are ``<entry><key/><value/></entry>`` the same
way; timestamps default to ISO 8601; blobs are base64; ``xmlAttribute`` members are attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from botocore.model import Shape

from corral.api.protocol.values import (
    ValueConversionError,
    encode_base64,
    float_to_wire,
    format_timestamp,
    scalar_from_text,
)

_INTEGERS = ("integer", "long", "short", "byte", "bigInteger")


def _tag(element: ElementTree.Element) -> str:
    return element.tag.rpartition("}")[2]


def _add_namespace(shape: Shape, element: ElementTree.Element) -> None:
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, dict):
        prefix = namespace.get("prefix")
        element.set(f"xmlns:{prefix}" if prefix else "xmlns", namespace["uri"])
    elif isinstance(namespace, str):
        element.set("xmlns", namespace)


def write_element(
    parent: ElementTree.Element | None, shape: Shape, value: Any, name: str, timestamp_format: str = "iso8601"
) -> ElementTree.Element:
    """Append ``value`` as element(s) named ``name`` to ``parent`` (or make a root); return the last one."""
    type_name = shape.type_name
    if type_name == "list" and shape.serialization.get("flattened"):
        if parent is None:
            raise ValueError("a flattened list needs a parent element")
        element = parent
        for item in value:
            element = write_element(parent, shape.member, item, name, timestamp_format)
        return element
    if type_name == "map" and shape.serialization.get("flattened"):
        if parent is None:
            raise ValueError("a flattened map needs a parent element")
        element = parent
        for key, item in value.items():
            element = ElementTree.SubElement(parent, name)
            write_element(element, shape.key, key, shape.key.serialization.get("name", "key"))
            write_element(element, shape.value, item, shape.value.serialization.get("name", "value"))
        return element
    element = ElementTree.Element(name) if parent is None else ElementTree.SubElement(parent, name)
    _add_namespace(shape, element)
    if type_name == "structure":
        write_structure(element, shape, value, timestamp_format)
    elif type_name == "list":
        member_name = shape.member.serialization.get("name", "member")
        for item in value:
            write_element(element, shape.member, item, member_name, timestamp_format)
    elif type_name == "map":
        for key, item in value.items():
            entry = ElementTree.SubElement(element, "entry")
            write_element(entry, shape.key, key, shape.key.serialization.get("name", "key"))
            write_element(entry, shape.value, item, shape.value.serialization.get("name", "value"))
    else:
        element.text = scalar_text(shape, value, timestamp_format)
    return element


def write_structure(
    element: ElementTree.Element,
    shape: Shape,
    values: Mapping[str, Any],
    timestamp_format: str = "iso8601",
    names: set[str] | None = None,
) -> None:
    for name, value in values.items():
        if value is None or name == "ResponseMetadata":
            continue
        if name not in shape.members:
            raise ValueError(f"{shape.name} has no member {name!r}")
        if names is not None and name not in names:
            continue
        member = shape.members[name]
        wire_name = member.serialization.get("name", name)
        if member.serialization.get("xmlAttribute"):
            element.set(wire_name, scalar_text(member, value, timestamp_format))
        else:
            write_element(element, member, value, wire_name, timestamp_format)


def scalar_text(shape: Shape, value: Any, timestamp_format: str = "iso8601") -> str:
    type_name = shape.type_name
    if type_name == "boolean":
        return "true" if value else "false"
    if type_name == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", timestamp_format)))
    if type_name == "blob":
        return encode_base64(value)
    if type_name in ("float", "double"):
        return str(float_to_wire(float(value)))
    if type_name in _INTEGERS:
        return str(int(value))
    return str(value)


def read_element(shape: Shape, element: ElementTree.Element, path: str = "") -> Any:
    """The Python value of ``shape`` in ``element`` (a non-flattened container, or a scalar)."""
    type_name = shape.type_name
    if type_name == "structure":
        return read_structure(shape, element, path)
    if type_name == "list":
        member_name = shape.member.serialization.get("name", "member")
        children = [child for child in element if _tag(child) == member_name]
        return [read_element(shape.member, child, f"{path}.{i}") for i, child in enumerate(children, 1)]
    if type_name == "map":
        return _read_entries(shape, [child for child in element if _tag(child) == "entry"], path)
    return _read_scalar(shape, element.text or "", path)


def _read_entries(shape: Shape, entries: list[ElementTree.Element], path: str) -> dict[str, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    result: dict[str, Any] = {}
    for entry in entries:
        key_node = next((c for c in entry if _tag(c) == key_name), None)
        value_node = next((c for c in entry if _tag(c) == value_name), None)
        if key_node is None or value_node is None:
            continue
        key = _read_scalar(shape.key, key_node.text or "", path)
        result[key] = read_element(shape.value, value_node, f"{path}.{key}")
    return result


def read_structure(
    shape: Shape, element: ElementTree.Element, path: str = "", names: set[str] | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    children: dict[str, list[ElementTree.Element]] = {}
    for child in element:
        children.setdefault(_tag(child), []).append(child)
    for name, member in shape.members.items():
        if names is not None and name not in names:
            continue
        wire_name = member.serialization.get("name", name)
        member_path = f"{path}.{name}" if path else name
        if member.serialization.get("xmlAttribute"):
            text = _attribute(element, wire_name)
            if text is not None:
                result[name] = _read_scalar(member, text, member_path)
            continue
        if member.type_name == "list" and member.serialization.get("flattened"):
            element_name = member.member.serialization.get("name", wire_name)
            nodes = children.get(element_name) or children.get(wire_name) or []
            if nodes:
                result[name] = [
                    read_element(member.member, node, f"{member_path}.{i}") for i, node in enumerate(nodes, 1)
                ]
            continue
        if member.type_name == "map" and member.serialization.get("flattened"):
            nodes = children.get(wire_name) or []
            if nodes:
                result[name] = _read_entries(member, nodes, member_path)
            continue
        found = children.get(wire_name)
        if found:
            result[name] = read_element(member, found[0], member_path)
    return result


def _attribute(element: ElementTree.Element, name: str) -> str | None:
    """An attribute by its name in the model (``xsi:type``), whatever namespace URI it was bound to."""
    if name in element.attrib:
        return element.attrib[name]
    local = name.rpartition(":")[2]
    for key, value in element.attrib.items():
        if key.rpartition("}")[2] == local:
            return value
    return None


def _read_scalar(shape: Shape, text: str, path: str) -> Any:
    if shape.type_name == "string":
        return text
    try:
        return scalar_from_text(shape, text.strip())
    except ValueConversionError as exc:
        raise ValueConversionError(f"Invalid value at '{path}': {exc}") from exc


def to_bytes(root: ElementTree.Element) -> bytes:
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + document
