"""What a regulator reads: exposure tables before and after masks, verdicts, the HTML report."""

from ...vocabulary import DORI_CLASSES, TARGET_KINDS
from .html import report_html
from .tables import HUMAN_COLUMNS, camera_table, human_table, kind_dori_table, noncompliant_table

__all__ = ["report_html", "DORI_CLASSES", "TARGET_KINDS", "HUMAN_COLUMNS", "camera_table", "human_table",
           "kind_dori_table", "noncompliant_table"]
