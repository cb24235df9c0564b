"""perflab: the orchestrator and the ``perflab`` command line."""

__version__ = "0.1.0"
