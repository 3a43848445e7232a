"""The words the outputs use, defined once: the DORI classes of IEC 62676-4:2014, the levels of
IEC 62676-4:2025, the kinds of private target, and the array aliases the modules share."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]  # float arrays; the unit is in each name or docstring

# IEC 62676-4:2014 DORI classes, most detail first (thresholds in ``scenario.DoriThresholds``), and
# the word for a density below detect
DORI_CLASSES = ("identify", "recognise", "observe", "detect")
BELOW_DETECT = "none"
DORI_OR_NONE = (*DORI_CLASSES, BELOW_DETECT)
# IEC 62676-4:2025 levels and their least densities [px/m], highest first, as summarised in the
# reference on cameras and masks (a design-tool vendor's summary of the standard)
IEC_2025_LEVELS = (("scrutinise", 1500.0), ("validate", 500.0), ("characterise", 250.0), ("perceive", 125.0),
                   ("discern", 80.0), ("outline", 40.0), ("overview", 20.0))

# kinds of private target, in the order the tables list them
TARGET_KINDS = ("window", "door", "balcony", "terrace", "courtyard", "backyard", "sensitive", "facade")
OPENING_KINDS = ("window", "door")  # targets one may see *into* (the grazing rule)
