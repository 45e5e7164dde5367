"""The data path, written out once: bench config -> protocols -> journal -> trainer -> report.

``protocol_run``: run one protocol on a bench into the journal (CLI ``labctl run`` and the service).
``loop``: the full loop (train, program, read, infer, sync, retrain, report), the main job.
"""
