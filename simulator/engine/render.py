"""A simulated camera image, ray-cast with the same engine: one ray per pixel of a pinhole view.

Buildings and terrain are shaded by how their surface faces the light; private targets seen in the
view are highlighted (a pixel belongs to a target when the target's plane, inside its polygon, is
where the pixel's ray first hits); masks are drawn as outlines ("before") or filled ("after").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from ..frames import direction_vectors
from ..scene import Camera, Scene
from ..vocabulary import F64
from .masks.spherical import SphericalMask, project, tangent_frame

SKY = np.array([200, 220, 240], np.uint8)
PRIVATE = np.array([230, 60, 60], np.float64)
LIGHT = np.array([0.4, -0.5, 0.77]) / np.linalg.norm([0.4, -0.5, 0.77])


@dataclass
class View:
    """A rendered view: ``image`` (h, w, 3) uint8, ``target_pixels`` {target index: pixel count},
    ``private_pixels`` (pixels showing a private target) and ``unmasked_private_pixels`` (those outside
    every mask)."""

    image: NDArray[np.uint8]
    target_pixels: dict[int, int]
    azimuth_deg: float
    elevation_deg: float
    hfov_deg: float
    private_pixels: int = 0
    unmasked_private_pixels: int = 0


def pixel_directions(camera: Camera, azimuth_deg: float, elevation_deg: float, hfov_deg: float,
                     width: int) -> tuple[F64, tuple[F64, F64, F64], int]:
    """Unit ray directions (h * w, 3), row-major from the top-left pixel, for a no-roll pinhole view."""
    w_px, h_px = camera.resolution_px
    height = max(1, round(width * h_px / w_px))
    frame = tangent_frame(direction_vectors(azimuth_deg + camera.grid_north_offset_deg, elevation_deg)[0])
    tx = math.tan(math.radians(hfov_deg) / 2)
    ty = tx * height / width
    xs = ((np.arange(width) + 0.5) / width * 2 - 1) * tx
    ys = (1 - (np.arange(height) + 0.5) / height * 2) * ty
    gx, gy = np.meshgrid(xs, ys)
    f, r, u = frame
    d = f[None, :] + gx.reshape(-1, 1) * r[None, :] + gy.reshape(-1, 1) * u[None, :]
    return d / np.linalg.norm(d, axis=1, keepdims=True), frame, height


def render_view(scene: Scene, camera: Camera, *, azimuth_deg: float, elevation_deg: float, hfov_deg: float,
                width: int = 480, masks: list[SphericalMask] | None = None, masked: bool = False,
                only: NDArray[np.intp] | None = None) -> View:
    """What ``camera`` shows aimed at (azimuth, elevation) [deg] with a horizontal field of view
    ``hfov_deg``, ``width`` pixels wide: private targets tinted red (all within its range, or those
    in ``only``: say those its masks must hide), ``masks`` outlined or, ``masked``, painted black."""
    dirs, frame, height = pixel_directions(camera, azimuth_deg, elevation_deg, hfov_deg, width)
    cam = np.array(camera.position)
    t, normal = scene.engine.intersect(cam, dirs)
    if scene.terrain.is_flat:  # flat ground is not in the mesh: draw it below the horizon
        ground_z = camera.z - camera.mount_height_m
        down = ~np.isfinite(t) & (dirs[:, 2] < -1e-9)
        t[down] = (ground_z - cam[2]) / dirs[down, 2]
        normal[down] = (0.0, 0.0, 1.0)
    hit = np.isfinite(t)
    shade = np.clip(0.35 + 0.65 * np.abs(normal @ LIGHT), 0, 1)
    ground = np.abs(normal[:, 2]) > 0.9
    base = np.where(ground[:, None], np.array([150.0, 150.0, 140.0]), np.array([205.0, 190.0, 170.0]))
    img = np.where(hit[:, None], base * shade[:, None], SKY.astype(float))
    # private targets: pixels whose first hit lies on a target polygon
    targets = scene.targets
    pts = cam + dirs * np.where(hit, t, 0)[:, None]
    counts: dict[int, int] = {}
    private = np.zeros(len(dirs), bool)
    near: NDArray[np.intp] = (np.asarray(scene.target_index.query_ball_point(cam, camera.range_m), dtype=np.intp)
                              if len(targets) else np.zeros(0, np.intp)) if only is None else np.unique(only)
    planes = targets.planes
    near = near[~planes.draped[near]] if len(near) else near
    near = near[np.einsum("ij,ij->i", planes.N[near], cam - planes.origin[near]) > 0] if len(near) else near
    polygons: list[shapely.Polygon] = list(planes.polygons(near)) if len(near) else []
    f, r, u = frame
    tx = math.tan(math.radians(hfov_deg) / 2)
    ty = tx * height / width
    pixel = np.arange(len(dirs)).reshape(height, width)
    usable = hit & np.isfinite(t)
    for ti, poly in zip(near.tolist(), polygons, strict=True):
        n, o = planes.N[ti], planes.origin[ti]
        # only the pixels within the image box of the target's outline (when wholly in front)
        ring = np.asarray(poly.exterior.coords)
        d = o + ring[:, :1] * planes.U[ti] + ring[:, 1:2] * planes.V[ti] - cam
        d = _in_front(d, d @ f, NEAR_M)
        if len(d) == 0:  # wholly behind the image plane: not in view
            continue
        z = d @ f
        cols = ((d @ r) / z / tx + 1) / 2 * width - 0.5
        rows = (1 - (d @ u) / z / ty) / 2 * height - 0.5
        c0, c1 = max(int(math.floor(cols.min())) - 1, 0), min(int(math.ceil(cols.max())) + 2, width)
        r0, r1 = max(int(math.floor(rows.min())) - 1, 0), min(int(math.ceil(rows.max())) + 2, height)
        if c0 >= c1 or r0 >= r1:
            continue
        box = pixel[r0:r1, c0:c1].ravel()
        box = box[usable[box]]
        cand = box[np.abs((pts[box] - o) @ n) < 0.25]
        if len(cand) == 0:
            continue
        rel = pts[cand] - o
        inside = shapely.contains_xy(poly, rel @ planes.U[ti], rel @ planes.V[ti])
        if inside.any():
            px = cand[inside]
            img[px] = 0.35 * img[px] + 0.65 * PRIVATE
            counts[int(ti)] = int(inside.sum())
            private[px] = True
    image = img.reshape(height, width, 3)
    covered = _draw_masks(image, masks, frame, hfov_deg, width, height, filled=masked) if masks else \
        np.zeros((height, width), bool)
    shown = private.reshape(height, width) & ~covered
    return View(np.clip(image, 0, 255).astype(np.uint8), counts, azimuth_deg, elevation_deg, hfov_deg,
                private_pixels=int(private.sum()), unmasked_private_pixels=int(shown.sum()))


NEAR_M = 0.01  # [m] target outlines are clipped this far in front of the camera before they are projected


def _in_front(ring: F64, z: F64, near_m: float) -> F64:
    """The part of a closed polygon ``ring`` (n, 3; relative to the camera) with depth ``z`` >= ``near_m``
    (Sutherland-Hodgman against one plane): what of it can appear in the image. Empty: none."""
    out = []
    n = len(ring)
    for i in range(n):
        a, b, za, zb = ring[i], ring[(i + 1) % n], z[i], z[(i + 1) % n]
        if za >= near_m:
            out.append(a)
        if (za >= near_m) != (zb >= near_m):
            out.append(a + (b - a) * ((near_m - za) / (zb - za)))
    return np.array(out).reshape(-1, 3)


def _draw_masks(image: F64, masks: list[SphericalMask], frame: tuple[F64, F64, F64], hfov_deg: float,
                width: int, height: int, *, filled: bool) -> NDArray[np.bool_]:
    """Masks outlined (or, ``filled``, painted black) on ``image``; returns the (h, w) pixels they cover."""
    tx = math.tan(math.radians(hfov_deg) / 2)
    ty = tx * height / width
    cols = (np.arange(width) + 0.5) / width * 2 - 1
    rows = 1 - (np.arange(height) + 0.5) / height * 2
    gx, gy = np.meshgrid(cols * tx, rows * ty)
    covered = np.zeros((height, width), bool)
    for m in masks:
        xy = project(m.vertices, frame)
        if np.isnan(xy).any():
            continue
        poly = shapely.Polygon(xy)
        inside = shapely.contains_xy(poly, gx, gy)
        covered |= inside
        if filled:
            image[inside] = (20, 20, 20)
        else:
            edge = shapely.contains_xy(poly.boundary.buffer(1.5 * 2 * tx / width), gx, gy)
            image[edge] = (255, 210, 0)
    return covered
