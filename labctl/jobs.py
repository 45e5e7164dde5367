"""The data path, written out once: bench config -> protocols -> journal -> trainer -> report."""
