"""Privacy masks: spherical polygons in a camera's (azimuth, elevation) frame, generated per exposed
target, fitted to the camera's limits, and verified by denser resampling."""

from .spherical import SphericalMask
from .plan import CameraMasks, plan_camera_masks

__all__ = ["CameraMasks", "SphericalMask", "plan_camera_masks"]
