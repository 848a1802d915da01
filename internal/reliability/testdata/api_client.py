"""Plays the ADE API on a shared SQLite file with Python's own sqlite3 (the
C library): each round opens a connection, reads, stores a document and
queues a run for it in one transaction, and closes the connection again,
which is when SQLite checks whether it was the file's last user and, if it
believes so, checkpoints and deletes the WAL.

usage: api_client.py DB DATA_DIR WORKSPACE CONFIGURATION ENGINE_SPEC DIGEST ROUNDS PAUSE MAX_ATTEMPTS

Prints the id of every run it queued, one per line, as it commits it.
"""

import os
import sqlite3
import sys
import time
import uuid

NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


def main():
    db, data_dir, ws, cfg, engine_spec, digest = sys.argv[1:7]
    rounds, pause, max_attempts = int(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9])
    for _ in range(rounds):
        doc_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
        folder = os.path.join(data_dir, "workspaces", ws, "documents", doc_id)
        os.makedirs(folder)
        with open(os.path.join(folder, "members.csv"), "w") as f:
            f.write("name\nAda\n")
        conn = sqlite3.connect(db, timeout=30, isolation_level=None)
        try:
            conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'queued'").fetchone()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO documents (id, workspace_id, original_filename, stored_uri, version, updated_at) "
                "VALUES (?, ?, 'members.csv', ?, 1, " + NOW + ")",
                (doc_id, ws, "file:%s/members.csv" % doc_id))
            conn.execute(
                "INSERT INTO runs (id, workspace_id, configuration_id, input_document_id, engine_spec, deps_digest, "
                "status, available_at, attempt_count, max_attempts, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'queued', " + NOW + ", 0, ?, " + NOW + ")",
                (run_id, ws, cfg, doc_id, engine_spec, digest, max_attempts))
            conn.execute("COMMIT")
        finally:
            conn.close()
        print(run_id, flush=True)
        time.sleep(pause)


if __name__ == "__main__":
    main()
