"""Camera field-of-view and privacy-zone simulator.

Notebook API: ``load_scenario`` -> ``build_scene`` -> ``analyse`` -> ``Result.exposures_gdf()``.
"""

from .build import build_scene
from .errors import InputError, SimulatorError
from .results import Result
from .run.pipeline import analyse
from .scenario import Scenario, load_scenario
from .scene import Scene

__all__ = ["InputError", "Result", "Scenario", "Scene", "SimulatorError", "analyse", "build_scene", "load_scenario"]
__version__ = "0.1.0"
