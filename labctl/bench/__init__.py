"""Builds benches from YAML: the only place that constructs concrete drivers and simulators."""
