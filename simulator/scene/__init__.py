"""The scene: the ``Scene`` value and what it holds (targets, terrain, cameras), with the caches
derived from it. May import the base modules (errors, frames, geom, vocabulary, visibility,
scenario) and ``inputs`` (the DEM grid); built by ``build``."""

from .camera import Camera, MaskLimits
from .scene import Scene

__all__ = ["Camera", "MaskLimits", "Scene"]
