"""`python -m gate` runs the CLI."""

from gate.console import main_exit

main_exit()
