"""What a regulator reads: exposure tables before and after masks, verdicts, the HTML report."""

from ...vocabulary import DORI_CLASSES, TARGET_KINDS
from .html import report_html
from .tables import camera_table, kind_dori_table

__all__ = ["report_html", "DORI_CLASSES", "TARGET_KINDS", "camera_table", "kind_dori_table"]
