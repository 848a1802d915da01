"""Checks a SQLite file with Python's sqlite3 (the C library), as another
tool would: prints what PRAGMA integrity_check answers.

usage: integrity_check.py DB
"""

import sqlite3
import sys

conn = sqlite3.connect(sys.argv[1], timeout=30)
try:
    print("\n".join(row[0] for row in conn.execute("PRAGMA integrity_check")))
finally:
    conn.close()
