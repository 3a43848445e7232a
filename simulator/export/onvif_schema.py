"""Validation of ONVIF mask plans against the official schemas (Media2 ``media.wsdl``, PTZ
``ptz.wsdl``, shipped in ``onvif_specs/``), with lxml and xmlschema only: this file also runs as a
script in a second process (``python onvif_schema.py FOLDER``; ``-``: load the schemas first, then
read the folder from standard input), which must not pay for importing the whole simulator.

Untrusted XML is parsed with entities and network access off.
"""

from __future__ import annotations

import sys
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

TT = "http://www.onvif.org/ver10/schema"
TR2 = "http://www.onvif.org/ver20/media/wsdl"
TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
SPECS = Path(__file__).parent / "onvif_specs" / "wsdl"


class InvalidDocument(ValueError):
    """A document that does not validate (the message says which and why)."""


@cache
def schema(wsdl: str) -> Any:
    """The XML schema embedded in one of the shipped WSDL files."""
    import xmlschema

    path = SPECS / wsdl
    schema_el = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).find(
        ".//{http://www.w3.org/2001/XMLSchema}schema")
    with warnings.catch_warnings():  # the four W3C/OASIS imports are not shipped; no mask element uses them
        warnings.simplefilter("ignore")
        return xmlschema.XMLSchema(etree.tostring(schema_el).decode(), base_url=str(path.parent.resolve()) + "/",
                                   allow="local", validation="lax", defuse="always")


def validate(data: bytes) -> None:
    """Validate every ``tptz:AbsoluteMove`` and ``tr2:CreateMask`` in a plan against the official schemas;
    also require normalised coordinates within [-1, 1]. Raises ``InvalidDocument``."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidDocument(str(exc)) from None
    for tag, wsdl in ((f"{{{TPTZ}}}AbsoluteMove", "ver20/ptz/wsdl/ptz.wsdl"),
                      (f"{{{TR2}}}CreateMask", "ver20/media/wsdl/media.wsdl")):
        checker = schema(wsdl)
        for el in root.iter(tag):
            errors = list(checker.iter_errors(el))  # the parsed element: no entities, no network (above)
            if errors:
                raise InvalidDocument(f"{etree.QName(tag).localname}: {errors[0].reason}")
    for p in root.iter(f"{{{TT}}}Point"):
        x, y = float(p.get("x", "nan")), float(p.get("y", "nan"))
        if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
            raise InvalidDocument(f"mask point ({x}, {y}) outside the normalised view [-1, 1]")


def validate_many(docs: dict[str, bytes]) -> None:
    """``validate`` every document (name -> bytes); the error names the first invalid one."""
    for name, data in docs.items():
        try:
            validate(data)
        except InvalidDocument as exc:
            raise InvalidDocument(f"{name}: {exc}") from None


def main(argv: list[str]) -> int:
    """Validate every ``*.xml`` in the folder ``argv[0]`` (``-``: load the schemas first, then read
    the folder from standard input); exit 1 with the first error on stderr."""
    if argv[0] == "-":
        schema("ver20/ptz/wsdl/ptz.wsdl")
        schema("ver20/media/wsdl/media.wsdl")
        line = sys.stdin.readline().strip()
        if not line:  # the run ended without documents
            return 0
        argv = [line]
    folder = Path(argv[0])
    try:
        validate_many({f"{folder.name}/{p.name}": p.read_bytes() for p in sorted(folder.glob("*.xml"))})
    except InvalidDocument as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
