"""``python -m labctl`` runs the command line."""

from labctl.cli import main

main()
