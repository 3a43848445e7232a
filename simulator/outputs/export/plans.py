"""All mask exports of a run, written under ``DIR/masks/`` (see the public contract)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ...engine.masks.plan import CameraMasks
from ...engine.masks.spherical import SphericalMask, tangent_frame, unit
from ...frames import azimuth_elevation
from ...results import Result
from ...scene import Camera, Scene
from ...visibility import RayEngine
from ..integrity import AuditAction, AuditLog, safe_name, sign_plan
from .onvif import Validation, mask_plan_xml
from .vendors import axis_requests, hikvision_xml

FRAME = ("vertices_deg are [azimuth, elevation]: azimuth in degrees clockwise from true north, elevation in "
         "degrees above horizontal (negative down), seen from the camera; edges are great circles")


def canonical_plan(camera: Camera, plan: CameraMasks) -> dict[str, Any]:
    masks = []
    for m in plan.masks:
        az, el = azimuth_elevation(m.vertices)
        az = (az - camera.grid_north_offset_deg) % 360.0
        verts = [[round(float(a), 6), round(float(e), 6)] for a, e in zip(az, el, strict=True)]
        masks.append({"id": m.id, "vertices_deg": verts, "targets": list(m.targets)})
    return {"camera_id": camera.id, "frame": FRAME, "model": camera.model, "kind": camera.kind,
            "position": {"x": camera.x, "y": camera.y, "z": camera.z},
            "mask_limits": {"max_masks": camera.mask_limits.max_masks,
                            "max_vertices": camera.mask_limits.max_vertices,
                            "rectangle_only": camera.mask_limits.rectangle_only},
            "pan_limits_deg": list(camera.pan_limits_deg), "tilt_limits_deg": list(camera.tilt_limits_deg),
            "compliant": plan.compliant, "reasons": plan.reasons, "exposed_after_masks": plan.exposed_after_masks,
            "proposed_pan_limits_deg": plan.proposed_pan_limits_deg,
            "proposed_tilt_limits_deg": plan.proposed_tilt_limits_deg, "masks": masks}


def mask_footprint(camera: Camera, mask: SphericalMask, engine: RayEngine, *, grid: int = 9,
                   ground_z: float | None = None) -> shapely.Geometry:
    """Where the mask hides things: first hits, within the camera's range, of rays through its vertices
    and an interior grid, as a 2D convex hull (scene CRS); empty when every such ray meets nothing.
    ``ground_z``: the height of flat ground that is not part of the mesh (scenes without a DEM)."""
    return mask_footprints(camera, [mask], engine, grid=grid, ground_z=ground_z)[0]


def mask_footprints(camera: Camera, masks: list[SphericalMask], engine: RayEngine, *, grid: int = 9,
                    ground_z: float | None = None) -> list[shapely.Geometry]:
    """``mask_footprint`` of each of ``masks``, all rays cast at once (row by row the same arithmetic
    as one mask alone)."""
    if not masks:
        return []
    k = len(masks)
    sizes = np.array([len(m.vertices) for m in masks])
    owner = np.repeat(np.arange(k), sizes)
    frames = [tangent_frame(m.centre) for m in masks]
    f, r, u = (np.array([fr[i] for fr in frames]) for i in range(3))
    v = np.vstack([m.vertices for m in masks])
    z = _dot(v, f[owner])
    with np.errstate(divide="ignore", invalid="ignore"):
        corners = np.column_stack([_dot(v, r[owner]), _dot(v, u[owner])]) / z[:, None]  # gnomonic, as ``project``
    corners[z <= 1e-9] = np.nan
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    lo, hi = np.minimum.reduceat(corners, first), np.maximum.reduceat(corners, first)
    # each mask's bounding box gridded as np.linspace does it (start + i * step, the end exact)
    gx = np.arange(grid) * ((hi[:, :1] - lo[:, :1]) / (grid - 1)) + lo[:, :1]
    gy = np.arange(grid) * ((hi[:, 1:] - lo[:, 1:]) / (grid - 1)) + lo[:, 1:]
    gx[:, -1], gy[:, -1] = hi[:, 0], hi[:, 1]
    px = np.tile(gx, grid).reshape(-1)  # x fastest, as np.meshgrid(...).ravel()
    py = np.repeat(gy, grid, axis=1).reshape(-1)
    g_owner = np.repeat(np.arange(k), grid * grid)
    polys = shapely.polygons(shapely.linearrings(corners, indices=owner))
    inside = shapely.contains_xy(polys[g_owner], px, py)
    pts = np.concatenate([np.column_stack([px, py])[inside], corners])
    who = np.concatenate([g_owner[inside], owner])
    order = np.argsort(who, kind="stable")  # each mask's grid points, then its corners
    pts, who = pts[order], who[order]
    dirs = unit(f[who] + pts[:, :1] * r[who] + pts[:, 1:2] * u[who])
    cam = np.array(camera.position)
    t = engine.first_hit(cam, dirs)
    if ground_z is not None:
        down = ~np.isfinite(t) & (dirs[:, 2] < -1e-9)
        t[down] = (ground_z - camera.position[2]) / dirs[down, 2]
    near = np.isfinite(t) & (t <= camera.range_m)
    hits = cam[None, :2] + dirs[near, :2] * t[near, None]
    hit, rank = np.unique(who[near], return_inverse=True)  # the masks with hits, numbered 0, 1, ...
    hulls = shapely.convex_hull(shapely.multipoints(hits, indices=rank)) if len(hit) else []
    out = [shapely.convex_hull(shapely.MultiPoint())] * k  # no hits: an empty geometry
    for i, h in zip(hit, hulls, strict=True):
        out[i] = h
    return out


def _dot(a: Any, b: Any) -> Any:
    """Row-wise dot products of (n, 3) arrays."""
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def camera_footprints(scene: Scene, camera: Camera, masks: list[SphericalMask]) -> list[shapely.Geometry]:
    """``mask_footprint`` of each mask of ``camera`` (flat ground taken under the camera when unmeshed)."""
    return mask_footprints(camera, masks, scene.engine, ground_z=flat_ground_z(scene, camera))


def result_footprints(result: Result, camera_id: str) -> list[shapely.Geometry]:
    """The footprints of a camera's mask plan in ``result``, computed once (exports and report share them)."""
    done = result.camera_outputs(camera_id)
    if done.footprints is None:
        plan = result.mask_plans.get(camera_id)
        done.footprints = camera_footprints(result.scene, result.camera(camera_id),
                                            plan.masks if plan is not None else [])
    return done.footprints


def proposed(camera: Camera, plan: CameraMasks) -> tuple[Camera, CameraMasks] | None:
    """The camera with its proposed pan/tilt limits, and the plan made for them (None: no proposal)."""
    if plan.proposed_plan is None:
        return None
    return replace(camera, pan_limits_deg=plan.proposed_pan_limits_deg or camera.pan_limits_deg,
                   tilt_limits_deg=plan.proposed_tilt_limits_deg or camera.tilt_limits_deg), plan.proposed_plan


def documents(camera: Camera, masks: list[SphericalMask]) -> dict[str, bytes]:
    """The unsigned vendor exports (ONVIF, Axis, Hikvision) of ``masks`` on ``camera``, with its limits."""
    return {"onvif": mask_plan_xml(camera, masks, check=False), "axis": axis_requests(camera, masks).encode("utf-8"),
            "hikvision": hikvision_xml(camera, masks)}


def vendor_documents(result: Result, camera_id: str) -> dict[str, bytes]:
    """A camera's unsigned vendor exports (ONVIF, Axis, Hikvision), computed once per result."""
    done = result.camera_outputs(camera_id)
    if done.vendor is None:
        done.vendor = documents(result.camera(camera_id), result.mask_plans[camera_id].masks)
    return done.vendor


@dataclass
class MaskExports:
    """Exports written to a staging folder, not yet final: ``finish()`` waits for the ONVIF documents'
    validation (which may run in a second process meanwhile) and then records the generation and
    export of each plan in the audit log; ``cancel()`` drops both."""

    validation: Validation
    entries: list[tuple[AuditAction, str, list[str], dict[str, Any]]]
    audit: AuditLog | None

    def finish(self) -> None:
        self.validation.result()
        if self.audit is not None:
            # what this run publishes, whole: verify checks the folder holds exactly these
            files = {e[3]["file"]: {"plan_sha256": e[3]["plan_sha256"],
                                    "onvif": "masks/onvif/" + e[3]["file"].removeprefix("masks/")[:-5] + ".xml",
                                    "onvif_sha256": e[3]["onvif_sha256"]}
                     for e in self.entries if e[0] == "export"}
            self.audit.record_many([{"action": a, "camera": c, "masks": m, "detail": d} for a, c, m, d in self.entries]
                                   + [{"action": "publish", "detail": {"files": files}}])
        self.entries = []

    def cancel(self) -> None:
        self.validation.cancel()
        self.entries = []


def write_mask_exports(stage: Path, result: Result, key: Any, *, scenario_sha256: str,
                       audit: AuditLog | None = None) -> MaskExports:
    """Write canonical signed plans, ONVIF/Axis/Hikvision exports and masks.geojson into ``stage/masks``.
    Call ``finish()`` on the returned ``MaskExports`` before publishing ``stage``: it raises if an ONVIF
    document does not validate against the official schemas, and only then writes the audit log."""
    scene = result.scene
    cams = {c.id: c for c in scene.cameras}
    base = stage / "masks"
    for sub in ("onvif", "axis", "hikvision"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    features = []
    onvif: dict[str, bytes] = {}
    entries: list[tuple[AuditAction, str, list[str], dict[str, Any]]] = []

    def write(cam: Camera, plan: CameraMasks, name: str, docs: dict[str, bytes], extra: dict[str, Any]) -> None:
        signed = sign_plan(canonical_plan(cam, plan) | extra, key, scenario_sha256=scenario_sha256)
        (base / f"{name}.json").write_text(json.dumps(signed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        onvif[f"onvif/{name}.xml"] = docs["onvif"]
        (base / "onvif" / f"{name}.xml").write_bytes(docs["onvif"])
        (base / "axis" / f"{name}.txt").write_bytes(docs["axis"])
        (base / "hikvision" / f"{name}.xml").write_bytes(docs["hikvision"])
        ids = [m.id for m in plan.masks]
        sha = signed["integrity"]["sha256"]
        entries.append(("generate", cam.id, ids, {"plan_sha256": sha, "compliant": plan.compliant, **extra}))
        entries.append(("export", cam.id, ids, {"formats": ["json", "onvif", "axis", "hikvision"],
                                                "file": f"masks/{name}.json", "plan_sha256": sha,
                                                "onvif_sha256": hashlib.sha256(docs["onvif"]).hexdigest(), **extra}))

    for cid, plan in result.mask_plans.items():
        cam = cams[cid]
        name = safe_name(cid)
        write(cam, plan, name, vendor_documents(result, cid), {})
        alt = proposed(cam, plan)
        if alt is not None:  # the plan for the proposed limits, with those limits, beside it
            p_cam, p_plan = alt
            write(p_cam, p_plan, f"{name}.proposed", documents(p_cam, p_plan.masks), {"proposed_limits": True})
        for m, fp in zip(plan.masks, result_footprints(result, cid), strict=True):
            if fp.is_empty:
                continue
            coords = shapely.get_coordinates(fp)
            lon, lat = scene.frame.to_lonlat(coords[:, 0], coords[:, 1])
            geom = shapely.geometry.mapping(shapely.set_coordinates(fp, np.column_stack([lon, lat])))
            features.append({"type": "Feature", "geometry": geom,
                             "properties": {"camera_id": cid, "mask_id": m.id, "targets": list(m.targets),
                                            "compliant": plan.compliant}})
    (base / "masks.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}) + "\n",
                                        encoding="utf-8")
    n_masks = sum(len(plan.masks) + (len(plan.proposed_plan.masks) if plan.proposed_plan else 0)
                  for plan in result.mask_plans.values())
    return MaskExports(Validation(onvif, masks=n_masks, folder=base / "onvif"), entries, audit)


def flat_ground_z(scene: Scene, camera: Camera) -> float | None:
    """The ground height under ``camera`` when the scene's ground is flat and not meshed, else None."""
    return camera.z - camera.mount_height_m if scene.terrain.is_flat else None


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else "0" * 64
