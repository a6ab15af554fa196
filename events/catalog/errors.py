"""PayloadError: the one error for an unacceptable payload, naming the offending field.

msgspec reports a validation failure as text, e.g. "Expected `int`, got `str` - at
`$.attendees[0].attended_hours`"; ``from_validation_error`` turns that into the field path
``data.attendees[0].attended_hours`` and a message a user of the API can act on.
"""

from __future__ import annotations

import re

import msgspec

from events.catalog.vocabulary import PATTERN_PHRASES


class PayloadError(Exception):
    """A payload field is unacceptable; `field_path` is e.g. "data.attendees[0].attended_hours"."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field_path = field_path
        self.message = message

    def __repr__(self) -> str:
        return f"PayloadError({self.field_path!r}, {self.message!r})"

    # Value semantics, so check results compare as lists in tests and callers.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PayloadError):
            return NotImplemented
        return (self.field_path, self.message) == (other.field_path, other.message)

    def __hash__(self) -> int:
        return hash((self.field_path, self.message))


_LOCATED = re.compile(r"^(?P<msg>.*?) - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`$", re.DOTALL)
_NAMED_FIELD = re.compile(
    r"^(?:Object contains unknown field|Object missing required field) `(?P<name>[^`]+)`$"
)
# PayloadStruct.__post_init__ starts its messages with the field's name in backticks.
_OWN_CHECK = re.compile(r"^`(?P<name>\w+)`: (?P<msg>.*)$", re.DOTALL)
_ENUM = re.compile(r"^Invalid enum value (?P<value>.*)$", re.DOTALL)
_REGEX = re.compile(r"^Expected `str` matching regex '(?P<pattern>.*)'$", re.DOTALL)
_SEGMENT = re.compile(r"\.(\w+)|\[(\d+)\]")


def from_validation_error(error: msgspec.ValidationError, payload_type: type) -> PayloadError:
    """Translate a msgspec ValidationError raised while decoding `payload_type` into a PayloadError."""
    text = str(error)
    located = _LOCATED.match(text)
    message, path = (located["msg"], located["path"]) if located else (text, "")
    if located and located["key"]:
        return PayloadError("data" + path, "invalid key: " + _humane(message, payload_type, path))
    named = _NAMED_FIELD.match(message) or _OWN_CHECK.match(message)
    if named:
        path = f"{path}.{named['name']}"
        if message.startswith("Object contains unknown field"):
            return PayloadError("data" + path, "unknown field (not in the catalog for this event type)")
        if message.startswith("Object missing required field"):
            return PayloadError("data" + path, "required field is missing")
        message = named["msg"]
    return PayloadError("data" + path, _humane(message, payload_type, path))


def _humane(message: str, payload_type: type, path: str) -> str:
    enum = _ENUM.match(message)
    if enum:
        choices = _literal_values(payload_type, path)
        allowed = f"; expected one of: {', '.join(map(repr, choices))}" if choices else ""
        return f"invalid value {enum['value']}{allowed}"
    regex = _REGEX.match(message)
    # msgspec doubles the backslashes of a pattern when it quotes it.
    pattern = regex["pattern"].replace("\\\\", "\\") if regex else ""
    if pattern in PATTERN_PHRASES:
        return "expected " + PATTERN_PHRASES[pattern]
    message = message.replace("`", "")
    return message[:1].lower() + message[1:]


def _literal_values(payload_type: type, path: str) -> tuple[object, ...] | None:
    """The allowed values of the Literal field at `path` ("$"-relative, e.g. ".attendees[0].x")."""
    node: msgspec.inspect.Type = msgspec.inspect.type_info(payload_type)
    for name, index in _SEGMENT.findall(path):
        node = _unwrap(node)
        if index and isinstance(node, msgspec.inspect.ListType):
            node = node.item_type
        elif name and isinstance(node, msgspec.inspect.StructType):
            fields = {field.name: field.type for field in node.fields}
            if name not in fields:
                return None
            node = fields[name]
        else:
            return None
    node = _unwrap(node)
    return node.values if isinstance(node, msgspec.inspect.LiteralType) else None


def _unwrap(node: msgspec.inspect.Type) -> msgspec.inspect.Type:
    """Look through constraints and `X | None` to the type that carries the value."""
    if isinstance(node, msgspec.inspect.Metadata):
        node = node.type
    if isinstance(node, msgspec.inspect.UnionType):
        others = [t for t in node.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(others) == 1:
            node = _unwrap(others[0])
    return node
