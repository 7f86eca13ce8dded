"""`--net-option KEY=VALUE`: a tile network's constructor options, checked against its signature.

The signature of each registered tile network (`ednn.core.nets`) is the one place its options
and their defaults live; this module reads it to parse, check and list them.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from ednn.core.errors import EDNNError


def tile_nets() -> dict[str, Callable[..., Any]]:
    """The registered tile networks by name, in the order they were registered."""
    from ednn.core.nets import net_class, net_names

    return {name: net_class(name) for name in net_names()}


def net_parameters(net: str) -> dict[str, inspect.Parameter]:
    """`ednn.core.nets.net_parameters`, imported when first needed (it brings torch)."""
    from ednn.core.nets import net_parameters

    return net_parameters(net)


def shown(value: object) -> str:
    """A value as it is written after KEY= (compact JSON; text as it is)."""
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value, separators=(",", ":"))


def options_text(net: str) -> str:
    """'KEY=DEFAULT, ...' of tile network `net`, or 'none'."""
    parameters = net_parameters(net)
    if not parameters:
        return "none"
    return ", ".join(name if p.default is p.empty else f"{name}={shown(p.default)}" for name, p in parameters.items())


def parse_net_options(net: str, pairs: Sequence[str]) -> dict[str, object]:
    """Constructor options of tile network `net` from 'KEY=VALUE' texts (VALUE: see
    `_checked_value`); a later KEY wins."""
    parameters = net_parameters(net)
    options: dict[str, object] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        key = key.strip()
        if not equals or not key:
            raise EDNNError(f"--net-option {pair!r}: expected KEY=VALUE, e.g. hidden=64")
        if not parameters:
            raise EDNNError(f"--net-option {key}: {net} takes no options")
        if key not in parameters:
            raise EDNNError(f"--net-option {key}: {net} has no option {key!r}; its options: {options_text(net)}")
        options[key] = _checked_value(net, key, text.strip(), parameters[key])
    return options


def _checked_value(net: str, key: str, text: str, parameter: inspect.Parameter) -> object:
    """The value of one option: JSON, else comma-separated numbers where the parameter takes a
    list (hidden=64,64 is [64, 64], hidden=64 is [64]), else text; refused in one line when its
    kind (a list, a number, text, ...) does not fit the parameter's annotation or default."""
    expected = _kinds(parameter)
    value = _json_or_text(text)
    if "a list" in expected and _kind(value) not in ("a list", "null"):
        value = _json_or_text(f"[{text}]")
    if expected and _kind(value) not in expected:
        example = shown(parameter.default) if parameter.default not in (parameter.empty, None) else None
        raise EDNNError(
            f"--net-option {key}={text}: {net}'s {key} takes {' or '.join(sorted(expected))}"
            + (f", e.g. {key}={example}" if example else "")
        )
    return value


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "text"


_ANNOTATION_KINDS = {
    "Sequence": "a list",
    "list": "a list",
    "tuple": "a list",
    "int": "a number",
    "float": "a number",
    "str": "text",
    "bool": "true/false",
    "None": "null",
}


def _kinds(parameter: inspect.Parameter) -> set[str]:
    """The kinds of value a parameter takes, from the outer types of its annotation (and its
    default), else from a default that is not None; empty when neither tells: any value passes."""
    default = set() if parameter.default is parameter.empty else {_kind(parameter.default)}
    annotation = parameter.annotation
    if annotation is not parameter.empty:
        text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
        while "[" in text:  # Sequence[int] | None → Sequence | None
            text = re.sub(r"\[[^\[\]]*\]", "", text)
        names = [name.strip().split(".")[-1] for name in text.split("|")]
        if all(name in _ANNOTATION_KINDS for name in names):
            return {_ANNOTATION_KINDS[name] for name in names} | default
    return set() if default == {"null"} else default
