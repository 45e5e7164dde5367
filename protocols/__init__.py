"""Programming and characterisation protocols, typed only against ``labctl.core`` capabilities."""
