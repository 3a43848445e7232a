"""The ONVIF schemas in a form ``xmllint --schema`` compiles offline (``onvif_specs/offline/``), so that
anyone can check an exported mask plan with libxml2 alone:

    xmllint --noout --nonet --schema simulator/export/onvif_specs/offline/mask-plan.xsd masks/onvif/CAMERA.xml

Made from the shipped official files (``onvif_specs/wsdl``) by ``build`` (``python -m
simulator.outputs.export.onvif_offline``; a test checks that the shipped folder is what it makes), with
exactly these changes, stated in the folder's README:

1. ``onvif.xsd`` imports four W3C/OASIS schemas by URL (xmlmime, SOAP 1.2 envelope, WS-Notification
   b-2, XOP include). They point to local stand-ins here that declare only the components onvif.xsd
   refers to (``xmime:contentType``, ``soapenv:Envelope`` and ``soapenv:Fault``, ``wsnt:FilterType``
   and ``wsnt:NotificationMessageHolderType``, ``xop:Include``), each open to any content: no mask or
   PTZ element uses them.
2. ``tt:VideoSourceConfigurationOptionsExtension2`` ends with an optional, repeatable
   ``SceneOrientationMode`` followed by ``xs:any namespace="##targetNamespace"``: a content model
   that is not deterministic (the Unique Particle Attribution rule), which libxml2 refuses. Its
   wildcard is made ``##other`` here; the type is a video source option, unrelated to masks.
3. The schemas embedded in ``media.wsdl`` (Media2) and ``ptz.wsdl`` (PTZ) are written out as
   ``media.xsd`` and ``ptz.xsd`` (xmllint reads schemas, not WSDL), importing the local ``onvif.xsd``.
4. ``mask-plan.xsd`` describes this tool's file around them: ``plan:MaskPlan`` of ``plan:Mask`` items,
   each an optional ``tptz:AbsoluteMove`` and a ``tr2:CreateMask``, then an optional
   ``tptz:SetConfiguration`` (the camera's PTZ limits) and notes.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from lxml import etree

SPECS = Path(__file__).parent / "onvif_specs"
OFFLINE = SPECS / "offline"
XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
REMOTE = {  # schemaLocation in onvif.xsd -> local stand-in
    "https://www.w3.org/2005/05/xmlmime": "xmlmime.xsd",
    "https://www.w3.org/2003/05/soap-envelope": "soap-envelope.xsd",
    "http://docs.oasis-open.org/wsn/b-2.xsd": "wsn-b-2.xsd",
    "https://www.w3.org/2004/08/xop/include": "xop-include.xsd",
}
_OPEN = ('<xs:sequence><xs:any namespace="##any" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>'
         '</xs:sequence><xs:anyAttribute namespace="##other" processContents="lax"/>')
STAND_INS = {
    "xmlmime.xsd": ("http://www.w3.org/2005/05/xmlmime",
                    '<xs:attribute name="contentType" type="xs:string"/>'
                    '<xs:attribute name="expectedContentTypes" type="xs:string"/>'),
    "soap-envelope.xsd": ("http://www.w3.org/2003/05/soap-envelope",
                          f'<xs:complexType name="Envelope">{_OPEN}</xs:complexType>'
                          f'<xs:complexType name="Fault">{_OPEN}</xs:complexType>'),
    "wsn-b-2.xsd": ("http://docs.oasis-open.org/wsn/b-2",
                    f'<xs:complexType name="FilterType">{_OPEN}</xs:complexType>'
                    f'<xs:complexType name="NotificationMessageHolderType">{_OPEN}</xs:complexType>'),
    "xop-include.xsd": ("http://www.w3.org/2004/08/xop/include",
                        '<xs:element name="Include"><xs:complexType><xs:sequence>'
                        '<xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>'
                        '</xs:sequence><xs:attribute name="href" type="xs:anyURI" use="required"/>'
                        '<xs:anyAttribute namespace="##other" processContents="lax"/></xs:complexType></xs:element>'),
}
MASK_PLAN = """<?xml version="1.0" encoding="UTF-8"?>
<!-- This tool's ONVIF mask plan: one plan:Mask per mask (where to point the camera, the mask in that
     view), then the camera's PTZ limits. Made by simulator/export/onvif_offline.py. -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:plan="urn:privacy-zone-simulator:onvif-mask-plan:1"
           xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" xmlns:tr2="http://www.onvif.org/ver20/media/wsdl"
           targetNamespace="urn:privacy-zone-simulator:onvif-mask-plan:1" elementFormDefault="qualified">
  <xs:import namespace="http://www.onvif.org/ver20/ptz/wsdl" schemaLocation="ptz.xsd"/>
  <xs:import namespace="http://www.onvif.org/ver20/media/wsdl" schemaLocation="media.xsd"/>
  <xs:element name="MaskPlan">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Mask" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType>
            <xs:sequence>
              <xs:element ref="tptz:AbsoluteMove" minOccurs="0"/>
              <xs:element ref="tr2:CreateMask"/>
            </xs:sequence>
            <xs:attribute name="id" type="xs:string" use="required"/>
            <xs:attribute name="targets" type="xs:string"/>
            <xs:attribute name="clipped" type="xs:boolean"/>
          </xs:complexType>
        </xs:element>
        <xs:element ref="tptz:SetConfiguration" minOccurs="0"/>
        <xs:element name="Note" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="camera" type="xs:string" use="required"/>
      <xs:attribute name="profileToken" type="xs:string"/>
      <xs:attribute name="videoSourceToken" type="xs:string"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""
README = """ONVIF schemas that `xmllint --schema` compiles offline, made from the official files in ../wsdl
(github.com/onvif/specs, licence ../LICENSE.md) by simulator/export/onvif_offline.py. Changes:

1. onvif.xsd imports xmlmime, the SOAP 1.2 envelope, WS-Notification b-2 and XOP include by URL;
   here they point to local stand-ins (xmlmime.xsd, soap-envelope.xsd, wsn-b-2.xsd,
   xop-include.xsd) that declare only the components onvif.xsd refers to, open to any content.
   They are not the W3C/OASIS schemas. No mask or PTZ element uses them.
2. tt:VideoSourceConfigurationOptionsExtension2: its wildcard xs:any namespace="##targetNamespace",
   after an optional repeatable tt:SceneOrientationMode, is not deterministic (libxml2 refuses it);
   it is ##other here. That type is a video source option, unrelated to masks.
3. media.xsd and ptz.xsd: the schemas embedded in media.wsdl (Media2) and ptz.wsdl (PTZ), importing
   onvif.xsd from this folder.
4. mask-plan.xsd: this tool's mask plan file around tptz:AbsoluteMove, tr2:CreateMask and
   tptz:SetConfiguration.

Check an exported plan:
    xmllint --noout --nonet --schema simulator/export/onvif_specs/offline/mask-plan.xsd masks/onvif/CAMERA.xml
"""


def _stand_in(namespace: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<!-- A local stand-in for {namespace}: only the '
            f'components onvif.xsd refers to, open to any content (see README). -->\n'
            f'<xs:schema xmlns:xs="{XS}" targetNamespace="{namespace}" elementFormDefault="qualified">'
            f'{body}</xs:schema>\n').encode()


def _onvif_xsd() -> bytes:
    root = etree.parse(str(SPECS / "wsdl" / "ver10" / "schema" / "onvif.xsd"),
                       etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    for imp in root.findall(f"{{{XS}}}import"):
        loc = imp.get("schemaLocation")
        if loc in REMOTE:
            imp.set("schemaLocation", REMOTE[loc])
    (ext,) = root.xpath("xs:complexType[@name='VideoSourceConfigurationOptionsExtension2']", namespaces={"xs": XS})
    (wildcard,) = ext.findall(f"{{{XS}}}sequence/{{{XS}}}any")
    wildcard.set("namespace", "##other")
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out


def _embedded(wsdl: str) -> bytes:
    tree = etree.parse(str(SPECS / "wsdl" / wsdl), etree.XMLParser(resolve_entities=False, no_network=True))
    root = tree.getroot()
    (embedded,) = root.findall(f"{{{WSDL}}}types/{{{XS}}}schema")
    # the WSDL's namespace prefixes too: the schema names its own types by QName values (tr2:Mask)
    nsmap = {k: v for k, v in {**root.nsmap, **embedded.nsmap}.items() if k is not None}
    schema = etree.Element(embedded.tag, attrib=dict(embedded.attrib), nsmap=nsmap)
    for child in embedded:
        schema.append(copy.deepcopy(child))
    for imp in schema.findall(f"{{{XS}}}import"):
        if imp.get("schemaLocation", "").endswith("onvif.xsd"):
            imp.set("schemaLocation", "onvif.xsd")
    out: bytes = etree.tostring(schema, xml_declaration=True, encoding="UTF-8")
    return out


def files() -> dict[str, bytes]:
    """Every file of the offline folder, by name."""
    out = {"onvif.xsd": _onvif_xsd(),
           "common.xsd": (SPECS / "wsdl" / "ver10" / "schema" / "common.xsd").read_bytes(),
           "media.xsd": _embedded("ver20/media/wsdl/media.wsdl"),
           "ptz.xsd": _embedded("ver20/ptz/wsdl/ptz.wsdl"),
           "mask-plan.xsd": MASK_PLAN.encode(), "README.txt": README.encode()}
    out.update({name: _stand_in(ns, body) for name, (ns, body) in STAND_INS.items()})
    return out


def build(folder: Path = OFFLINE) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files().items():
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else OFFLINE)
