"""Cameras: optics, pan/tilt limits, the sourced catalogue, and OpenStreetMap tag parsing."""

from .catalogue import catalogue, model_spec
from .model import Camera, MaskLimits

__all__ = ["Camera", "MaskLimits", "catalogue", "model_spec"]
