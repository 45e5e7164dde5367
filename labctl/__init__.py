"""labctl: instrument control, programming protocols and hardware-aware training for RRAM crossbars.

This package imports nothing heavy; subpackages are loaded on demand.
"""

__version__ = "0.1.0"
