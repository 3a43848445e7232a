"""Privacy masks: spherical polygons in a camera's (azimuth, elevation) frame, generated per exposed
target, fitted to the camera's limits, and verified by denser resampling."""

from .plan import CameraMasks, plan_camera_masks
from .spherical import SphericalMask

__all__ = ["CameraMasks", "SphericalMask", "plan_camera_masks"]
