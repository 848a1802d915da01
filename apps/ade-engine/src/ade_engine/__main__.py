import sys

from ade_engine.cli import main

sys.exit(main())
