#!/usr/bin/env python3
"""Container entrypoint: hand over to the CLI (GitHub Action inputs are read there)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gate.console import main_exit

if __name__ == "__main__":
    main_exit()
