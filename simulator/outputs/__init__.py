"""What a run leaves behind: atomic publishing of a run folder, the GeoPackage and CSV/JSON writers,
the report (``outputs.report``), vendor mask exports (``outputs.export``) and signing with its audit
trail (``outputs.integrity``). May import every layer below; only ``cli``, ``workbench``, ``device``
and ``where`` sit above it."""
