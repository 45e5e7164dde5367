"""Hardware-aware training: the only package that imports torch."""
