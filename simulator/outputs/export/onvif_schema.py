"""Validation of ONVIF mask plans against the official schemas (Media2 ``media.wsdl``, PTZ
``ptz.wsdl``, shipped in ``onvif_specs/``), with lxml and xmlschema only: this file also runs as a
script in a second process (``python onvif_schema.py FOLDER``; ``-``: load the schemas first, then
read the folder from standard input), which must not pay for importing the whole simulator.

Untrusted XML is parsed with entities and network access off.
"""

from __future__ import annotations

import os
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
    """The XML schema embedded in one of the shipped WSDL files, as compiled by ``compile_schema``:
    taken from the user's cache when an earlier run compiled the same files with the same xmlschema
    and Python (compiling takes over a second, loading a tenth of that), else compiled and cached."""
    import hashlib
    import pickle

    import xmlschema

    files = sorted([SPECS / wsdl, *(SPECS / "ver10" / "schema").glob("*.xsd")])
    key = hashlib.sha256(f"{xmlschema.__version__} {sys.version}".encode())
    for f in files:
        key.update(f.read_bytes())
    cached = _cache_dir() / f"{Path(wsdl).stem}-{key.hexdigest()[:24]}.pickle"
    try:
        return pickle.loads(cached.read_bytes())  # our own file, named by the hash of what made it
    except Exception:  # none yet, or unreadable: compile
        pass
    compiled = compile_schema(wsdl)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f".{cached.name}.{os.getpid()}")
        part.write_bytes(pickle.dumps(compiled, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(part, cached)  # whole or not at all
    except OSError:  # no cache then (a read-only home, say)
        pass
    return compiled


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "privacy-zone-simulator" / "onvif-schemas"


def compile_schema(wsdl: str) -> Any:
    """Compile the XML schema embedded in one of the shipped WSDL files."""
    import xmlschema

    path = SPECS / wsdl
    schema_el = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).find(
        ".//{http://www.w3.org/2001/XMLSchema}schema")
    with warnings.catch_warnings():  # the four W3C/OASIS imports are not shipped; no mask element uses them
        warnings.simplefilter("ignore")
        return xmlschema.XMLSchema(etree.tostring(schema_el).decode(), base_url=str(path.parent.resolve()) + "/",
                                   allow="local", validation="lax", defuse="always")


def validate(data: bytes) -> None:
    """Validate every ``tptz:AbsoluteMove``, ``tptz:SetConfiguration`` and ``tr2:CreateMask`` in a plan
    against the official schemas;
    also require normalised coordinates within [-1, 1]. Raises ``InvalidDocument``."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidDocument(str(exc)) from None
    for tag, wsdl in ((f"{{{TPTZ}}}AbsoluteMove", "ver20/ptz/wsdl/ptz.wsdl"),
                      (f"{{{TPTZ}}}SetConfiguration", "ver20/ptz/wsdl/ptz.wsdl"),
                      (f"{{{TR2}}}CreateMask", "ver20/media/wsdl/media.wsdl")):
        errors = _errors(schema(wsdl), root, tag)  # the parsed elements: no entities, no network (above)
        if errors:
            raise InvalidDocument(f"{etree.QName(tag).localname}: {errors[0].reason}")
    for p in root.iter(f"{{{TT}}}Point"):
        x, y = float(p.get("x", "nan")), float(p.get("y", "nan"))
        if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
            raise InvalidDocument(f"mask point ({x}, {y}) outside the normalised view [-1, 1]")


def _errors(checker: Any, root: Any, tag: str) -> list[Any]:
    """The errors of the ``tag`` elements under ``root`` against their global declaration in
    ``checker``, the first erroneous element's first: one validation context for them all (xmlschema's
    ``iter_errors`` sets one up per element, half the time of validating a mask)."""
    try:
        from xmlschema.namespaces import NamespaceMapper
        from xmlschema.validators.validation import ValidationContext
    except ImportError:  # another xmlschema: one context per element
        for el in root.iter(tag):
            errors = list(checker.iter_errors(el))
            if errors:
                return errors
        return []
    decl = checker.elements[etree.QName(tag).localname]
    source = checker.maps.settings.get_resource_from_data(root, None)
    context = ValidationContext(source=source, converter=NamespaceMapper(None, source=source))
    for el in root.iter(tag):
        decl.raw_decode(el, "lax", context)
        if context.errors:
            return list(context.errors)
    return []


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
    code = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(code)  # the caller waits for the exit: no tearing down of the schemas first
