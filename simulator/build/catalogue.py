"""The shipped camera catalogue (``catalogue.yaml``): sourced optics and limits per model."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from ..errors import InputError


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    """Model id -> catalogue entry (resolution, HFOV, limits, mask limits, vendor conventions, sources)."""
    text = resources.files(__package__).joinpath("catalogue.yaml").read_text(encoding="utf-8")
    models: dict[str, dict[str, Any]] = yaml.safe_load(text)["models"]
    return models


def model_spec(model: str, *, file: str | None = None, field: str = "model") -> dict[str, Any]:
    """The catalogue entry of ``model``; a one-line error listing valid models otherwise."""
    models = catalogue()
    if model not in models:
        raise InputError(f"unknown camera model {model!r}; valid: {', '.join(sorted(models))}", file=file, field=field)
    return models[model]
