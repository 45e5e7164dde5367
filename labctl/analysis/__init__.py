"""Pure NumPy analysis of records and maps."""
