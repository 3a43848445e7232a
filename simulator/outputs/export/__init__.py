"""Mask exports, built in memory and written by ``outputs.writers``: canonical JSON, ONVIF (validated
against the official schemas), Axis VAPIX, Hikvision ISAPI. Vendor angle and zoom conventions come
from the camera catalogue's ``vendor`` entries."""
