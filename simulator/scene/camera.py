"""Camera value types."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

CameraKind = Literal["ptz", "fixed"]


@dataclass(frozen=True)
class MaskLimits:
    """What the camera's firmware accepts: number of masks, vertices per mask, rectangles only; and the
    vendor's rules for masks (catalogue, with their sources): the elevations [deg] from which a mask
    can be drawn (``tilt_range_deg``) and how much larger than its object a mask should be drawn
    (``enlarge_fraction``: 0.1 is 10 % larger)."""

    max_masks: int = 24
    max_vertices: int = 4
    rectangle_only: bool = False
    tilt_range_deg: tuple[float, float] = (-90.0, 90.0)
    enlarge_fraction: float = 0.0


@dataclass(frozen=True)
class Camera:
    """One camera placed in the scene.

    Position (x, y) [m] in the scene CRS; ``z`` [m] is the absolute lens height (ground + mount).
    ``hfov_deg`` is (wide, tele) [deg]; a fixed camera has wide == tele and looks along
    (``direction_deg`` azimuth clockwise from true north, ``tilt_deg`` elevation, negative down).
    ``pan_limits_deg`` is a clockwise arc [from, to] of true azimuth (may wrap through north);
    ``tilt_limits_deg`` is [min, max] elevation. ``defaults`` lists the values that were not given
    and were filled in, stated in the output.
    """

    id: str
    x: float
    y: float
    z: float
    mount_height_m: float
    kind: CameraKind
    resolution_px: tuple[int, int]
    hfov_deg: tuple[float, float]
    model: str | None = None
    pan_limits_deg: tuple[float, float] = (0.0, 360.0)
    tilt_limits_deg: tuple[float, float] = (-90.0, 90.0)
    direction_deg: float | None = None
    tilt_deg: float | None = None
    range_m: float = 400.0
    mask_limits: MaskLimits = field(default_factory=MaskLimits)
    grid_north_offset_deg: float = 0.0
    defaults: tuple[str, ...] = ()
    # ONVIF tokens: profile, video source configuration, PTZ configuration, PTZ node
    onvif_tokens: tuple[str, str, str, str] = ("Profile_1", "VideoSourceConfig_1", "PTZConfig_1", "PTZNode_1")

    @property
    def vfov_deg(self) -> tuple[float, float]:
        """Vertical field of view (wide, tele) [deg] from the HFOV and the image aspect."""
        w, h = self.resolution_px
        return tuple(  # type: ignore[return-value]
            math.degrees(2 * math.atan(math.tan(math.radians(f) / 2) * h / w)) for f in self.hfov_deg
        )

    @property
    def position(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.z)

    def px_per_m(self, distance_m: float) -> float:
        """Best horizontal pixel density [px/m] at ``distance_m``: ``W / (2 d tan(hfov_tele / 2))``."""
        return self.resolution_px[0] / (2.0 * distance_m * math.tan(math.radians(self.hfov_deg[1]) / 2.0))
