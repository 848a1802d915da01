"""Tests of the ADE reference engine.

Run from the repository root without installing anything:

    python3 -m unittest discover -s apps/ade-engine/tests -t apps/ade-engine
"""

import os
import sys

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
