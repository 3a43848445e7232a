"""Making a ``Scene`` from a ``Scenario``: reading the sources (through ``inputs``), the frame,
buildings and their heights, buildings generated from streets, the occluding mesh, the private
targets, the cameras (placement, the sourced catalogue, OpenStreetMap tags). May import the base
modules, ``inputs`` and ``scene``; nothing above (``engine``, ``run``, ``outputs``)."""

from .scene import build_scene

__all__ = ["build_scene"]
