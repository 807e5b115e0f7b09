"""What compiled expressions mean for an item: conditions and filters, projections, update actions.

Pure functions over items in the API's form (``values.py``); nothing here touches the store. An update
evaluates every right-hand side against the item as it was before the update, as DynamoDB does, then applies
the actions (SET, REMOVE, ADD, DELETE) to a copy.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any, Final

from corral.services.dynamodb.errors import ValidationException
from corral.services.dynamodb.expressions import (
    And,
    Arithmetic,
    Between,
    Call,
    Compare,
    Condition,
    In,
    Literal,
    Not,
    Operand,
    Or,
    Path,
    Update,
)
from corral.services.dynamodb.values import (
    SET_TYPES,
    AttributeValue,
    Item,
    arithmetic,
    canonical_number,
    equal,
    order,
    type_of,
)

TYPE_NAMES: Final = {
    "S": "STRING",
    "N": "NUMBER",
    "B": "BINARY",
    "BOOL": "BOOLEAN",
    "NULL": "NULL",
    "M": "MAP",
    "L": "LIST",
    "SS": "SET OF STRING",
    "NS": "SET OF NUMBER",
    "BS": "SET OF BINARY",
}
_INCORRECT_TYPE: Final = "An operand in the update expression has an incorrect data type"
_INVALID_PATH: Final = "The document path provided in the update expression is invalid for update"
_MISSING_ATTRIBUTE: Final = "The provided expression refers to an attribute that does not exist in the item"


# -- reading ---------------------------------------------------------------------------------------------


def resolve(item: Item | None, path: Path) -> AttributeValue | None:
    """The value at ``path``, or None when any step is missing or of the wrong type."""
    if item is None:
        return None
    first = path.elements[0]
    if not isinstance(first, str):
        return None
    current: AttributeValue | None = item.get(first)
    for element in path.elements[1:]:
        if current is None:
            return None
        if isinstance(element, int):
            items = current.get("L")
            current = items[element] if items is not None and element < len(items) else None
        else:
            members = current.get("M")
            current = members.get(element) if members is not None else None
    return current


def _size(value: AttributeValue | None) -> AttributeValue | None:
    if value is None:
        return None
    kind = type_of(value)
    content = value[kind]
    if kind in ("S", "B", "L", "M", "SS", "NS", "BS"):
        return {"N": str(len(content))}
    return None


def operand_value(item: Item | None, operand: Operand) -> AttributeValue | None:
    if isinstance(operand, Path):
        return resolve(item, operand)
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Call) and operand.name == "size":
        return _size(operand_value(item, operand.args[0]))
    raise ValueError(f"{operand!r} is not a condition operand")


# -- conditions ------------------------------------------------------------------------------------------


def check(condition: Condition, item: Item | None) -> bool:
    """Whether ``item`` (None: there is none) satisfies a condition, filter or key condition."""
    if isinstance(condition, And):
        return check(condition.left, item) and check(condition.right, item)
    if isinstance(condition, Or):
        return check(condition.left, item) or check(condition.right, item)
    if isinstance(condition, Not):
        return not check(condition.condition, item)
    if isinstance(condition, Compare):
        return _compare(
            condition.op, operand_value(item, condition.left), operand_value(item, condition.right)
        )
    if isinstance(condition, Between):
        value = operand_value(item, condition.operand)
        return _compare(">=", value, operand_value(item, condition.low)) and _compare(
            "<=", value, operand_value(item, condition.high)
        )
    if isinstance(condition, In):
        value = operand_value(item, condition.operand)
        return value is not None and any(
            (option := operand_value(item, o)) is not None and equal(value, option) for o in condition.options
        )
    return _function(condition, item)


def _compare(op: str, left: AttributeValue | None, right: AttributeValue | None) -> bool:
    if left is None or right is None:
        return op == "<>"
    if op == "=":
        return equal(left, right)
    if op == "<>":
        return not equal(left, right)
    result = order(left, right)
    if result is None:
        return False
    return {"<": result < 0, "<=": result <= 0, ">": result > 0, ">=": result >= 0}[op]


def _function(call: Call, item: Item | None) -> bool:
    target = operand_value(item, call.args[0])
    if call.name == "attribute_exists":
        return target is not None
    if call.name == "attribute_not_exists":
        return target is None
    argument = operand_value(item, call.args[1])
    if target is None or argument is None:
        return False
    target_type, argument_type = type_of(target), type_of(argument)
    if call.name == "attribute_type":
        return bool(target_type == argument.get("S"))
    if call.name == "begins_with":
        if target_type != argument_type or target_type not in ("S", "B"):
            return False
        return bool(target[target_type].startswith(argument[argument_type]))
    # contains
    if target_type in ("S", "B"):
        return argument_type == target_type and argument[argument_type] in target[target_type]
    if target_type in SET_TYPES:
        if SET_TYPES[target_type] != argument_type:
            return False
        return any(equal({argument_type: member}, argument) for member in target[target_type])
    if target_type == "L":
        return any(equal(element, argument) for element in target["L"])
    return False


def check_between_bounds(condition: Condition, kind: str) -> None:
    """DynamoDB refuses a BETWEEN whose literal bounds are reversed, before reading any item."""
    if isinstance(condition, And | Or):
        check_between_bounds(condition.left, kind)
        check_between_bounds(condition.right, kind)
    elif isinstance(condition, Not):
        check_between_bounds(condition.condition, kind)
    elif (
        isinstance(condition, Between)
        and isinstance(condition.low, Literal)
        and isinstance(condition.high, Literal)
    ):
        low, high = condition.low.value, condition.high.value
        result = order(low, high)
        if result is not None and result > 0:
            raise ValidationException(
                f"Invalid {kind}: The BETWEEN operator requires upper bound to be greater than or equal to "
                f"lower bound; lower bound operand: AttributeValue: {_shown(low)}, upper bound operand: "
                f"AttributeValue: {_shown(high)}"
            )


def _shown(value: AttributeValue) -> str:
    kind = type_of(value)
    return f"{{{kind}:{value[kind]}}}"


# -- projections -----------------------------------------------------------------------------------------


def project(item: Item, paths: list[Path]) -> Item:
    """The parts of ``item`` that the paths name; list elements keep their order, compacted."""
    tree: dict[str, Any] = {}
    for path in paths:
        value = resolve(item, path)
        if value is None:
            continue
        node: dict[Any, Any] = tree
        for index, element in enumerate(path.elements):
            if index == len(path.elements) - 1:
                node[element] = value
            else:
                nxt = path.elements[index + 1]
                node = node.setdefault(element, {"__list__": isinstance(nxt, int), "children": {}})[
                    "children"
                ]
    return {name: _build(child) for name, child in tree.items()}


def _build(node: Any) -> AttributeValue:
    if "__list__" not in node:
        return dict(node)
    children = node["children"]
    if node["__list__"]:
        return {"L": [_build(children[k]) for k in sorted(children)]}
    return {"M": {k: _build(v) for k, v in children.items()}}


# -- updates ---------------------------------------------------------------------------------------------


def apply_update(item: Item, update: Update) -> Item:
    """A new item: ``item`` with the update's actions applied."""
    values = [(path, _set_value(item, operand)) for path, operand in update.set]
    result = copy.deepcopy(item)
    for path, value in values:
        _assign(result, path, value)
    for path in update.remove:
        _remove(result, path)
    for path, literal in update.add:
        _add(result, path, literal)
    for path, literal in update.delete:
        _delete(result, path, literal)
    return result


def _set_value(item: Item, operand: Operand) -> AttributeValue:
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Path):
        value = resolve(item, operand)
        if value is None:
            raise ValidationException(_MISSING_ATTRIBUTE)
        return value
    if isinstance(operand, Arithmetic):
        left, right = _set_value(item, operand.left), _set_value(item, operand.right)
        if type_of(left) != "N" or type_of(right) != "N":
            raise ValidationException(_INCORRECT_TYPE)
        return {"N": arithmetic(Decimal(left["N"]), Decimal(right["N"]), operand.subtract)}
    assert isinstance(operand, Call)
    if operand.name == "if_not_exists":
        assert isinstance(operand.args[0], Path)
        existing = resolve(item, operand.args[0])
        return existing if existing is not None else _set_value(item, operand.args[1])
    # list_append
    first, second = _set_value(item, operand.args[0]), _set_value(item, operand.args[1])
    if type_of(first) != "L" or type_of(second) != "L":
        raise ValidationException(_INCORRECT_TYPE)
    return {"L": [*first["L"], *second["L"]]}


def _parent(item: Item, path: Path) -> Any:
    """The container (an item, a map's dict or a list) holding the path's last element, or None."""
    container: Any = item
    for element in path.elements[:-1]:
        if isinstance(element, int):
            if not isinstance(container, list) or element >= len(container):
                return None
            value = container[element]
        else:
            if not isinstance(container, dict) or element not in container:
                return None
            value = container[element]
        kind = type_of(value)
        container = value[kind] if kind in ("M", "L") else None
        if container is None:
            return None
    return container


def _assign(item: Item, path: Path, value: AttributeValue) -> None:
    last = path.elements[-1]
    container = _parent(item, path)
    if isinstance(last, int):
        if not isinstance(container, list):
            raise ValidationException(_INVALID_PATH)
        if last < len(container):
            container[last] = value
        else:
            container.append(value)
        return
    if not isinstance(container, dict):
        raise ValidationException(_INVALID_PATH)
    container[last] = value


def _remove(item: Item, path: Path) -> None:
    last = path.elements[-1]
    container = _parent(item, path)
    if isinstance(last, int):
        if isinstance(container, list) and last < len(container):
            del container[last]
    elif isinstance(container, dict):
        container.pop(last, None)


def _add(item: Item, path: Path, literal: Literal) -> None:
    value = literal.value
    kind = type_of(value)
    if kind != "N" and kind not in SET_TYPES:
        raise ValidationException(
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
            f"operand type: {TYPE_NAMES[kind]}"
        )
    existing = resolve(item, path)
    if existing is None:
        _assign(item, path, value)
        return
    if type_of(existing) != kind:
        raise ValidationException(_INCORRECT_TYPE)
    if kind == "N":
        _assign(item, path, {"N": arithmetic(Decimal(existing["N"]), Decimal(value["N"]), False)})
        return
    _assign(item, path, {kind: _union(kind, existing[kind], value[kind])})


def _delete(item: Item, path: Path, literal: Literal) -> None:
    value = literal.value
    kind = type_of(value)
    if kind not in SET_TYPES:
        raise ValidationException(
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, "
            f"operand type: {TYPE_NAMES[kind]}"
        )
    existing = resolve(item, path)
    if existing is None:
        return
    if type_of(existing) != kind:
        raise ValidationException(_INCORRECT_TYPE)
    removed = {_member_key(kind, member) for member in value[kind]}
    remaining = [member for member in existing[kind] if _member_key(kind, member) not in removed]
    if remaining:
        _assign(item, path, {kind: remaining})
    else:
        _remove(item, path)


def _member_key(kind: str, member: Any) -> Any:
    return canonical_number(member) if kind == "NS" else member


def _union(kind: str, first: list[Any], second: list[Any]) -> list[Any]:
    seen = {_member_key(kind, member) for member in first}
    return [*first, *(member for member in second if _member_key(kind, member) not in seen)]


def touched_names(update: Update) -> set[str]:
    """The top-level attributes an update writes (UPDATED_OLD/UPDATED_NEW return these)."""
    return {str(path.elements[0]) for path in update.paths()}
