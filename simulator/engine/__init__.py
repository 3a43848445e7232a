"""The engine: pure functions of a ``Scene`` and a ``Camera``: exposure (what each camera sees of
every private target, at what density), mask plans (``engine.masks``), public-ground coverage, and
rendered views. May import the base modules, ``inputs``, ``scene`` and ``build`` (the camera
catalogue); nothing above (``results``, ``run``, ``outputs``), and it touches no disk."""
