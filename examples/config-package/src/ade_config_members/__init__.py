"""Member roster configuration for the ADE engine.

The fields live in ``ade_config.json`` next to this file; the engine reads
that file directly. ``MANIFEST`` gives its path to anyone who imports the
installed package.
"""

import os

MANIFEST = os.path.join(os.path.dirname(__file__), "ade_config.json")
