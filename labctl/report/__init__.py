"""Measured-vs-trained reports (HTML + JSON)."""
