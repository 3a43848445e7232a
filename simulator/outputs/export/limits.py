"""What an exported plan says when it holds more masks than its camera takes."""

from __future__ import annotations

from ...engine.masks.spherical import SphericalMask
from ...scene import Camera


def over_limit_warning(camera: Camera, masks: list[SphericalMask]) -> str | None:
    """One line for the top of a vendor file whose plan exceeds the camera's mask limit, else None."""
    n, limit = len(masks), camera.mask_limits.max_masks
    if n <= limit:
        return None
    return (f"WARNING: NOT COMPLIANT: this plan holds {n} masks and camera {camera.id} takes {limit}; the device "
            f"keeps at most {limit}, so private places stay visible. Apply the proposed pan/tilt limits "
            "(summary.json: proposed_limits; the report) and export again.")
