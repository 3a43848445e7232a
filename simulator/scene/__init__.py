"""The scene: buildings, terrain, private targets, the occluding mesh and the cameras."""

from .build import Scene, build_scene

__all__ = ["Scene", "build_scene"]
