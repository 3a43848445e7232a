"""Running a scenario: one per-camera step (``run.camera.camera_result``) and the executors that
apply it (in process, on worker processes, by tiles, on a Dask cluster). May import every layer
below (base, ``inputs``, ``scene``, ``build``, ``engine``, ``results``); not ``outputs``."""
