import GRDB

extension SQLiteStore {
    /// Named, append-only migrations. Never edit a shipped one: add the next.
    static func makeMigrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-mesh-core") { db in
            try db.execute(
                sql: """
                    CREATE TABLE agents (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        first_seen INTEGER,
                        last_seen INTEGER,
                        online INTEGER NOT NULL DEFAULT 0 CHECK (online IN (0, 1)),
                        went_offline_at INTEGER,
                        agent_version TEXT NOT NULL DEFAULT '',
                        host_json TEXT,
                        load_json TEXT,
                        session_id TEXT NOT NULL DEFAULT '',
                        last_acked_batch_id INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE tests (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('active', 'cancelled')),
                        revision INTEGER NOT NULL CHECK (revision >= 1),
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE TABLE test_revisions (
                        test_id INTEGER NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
                        revision INTEGER NOT NULL,
                        spec_json TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (test_id, revision)
                    ) WITHOUT ROWID;
                    CREATE TABLE test_assignments (
                        test_id INTEGER NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
                        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                        PRIMARY KEY (test_id, agent_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX test_assignments_by_agent ON test_assignments(agent_id, test_id);
                    CREATE TABLE ingested_batches (
                        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                        batch_id INTEGER NOT NULL,
                        received_at INTEGER NOT NULL,
                        measurement_count INTEGER NOT NULL,
                        PRIMARY KEY (agent_id, batch_id)
                    ) WITHOUT ROWID;
                    -- One b-tree clustered on (test, agent, time): the index the reads need is the
                    -- table itself, so each row costs one b-tree insert (shared/PLATFORM.md).
                    CREATE TABLE measurements (
                        test_id INTEGER NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
                        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                        ts INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        revision INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        status TEXT NOT NULL,
                        duration_ns INTEGER NOT NULL,
                        value REAL,
                        reason TEXT NOT NULL DEFAULT '',
                        payload BLOB NOT NULL,
                        PRIMARY KEY (test_id, agent_id, ts, seq)
                    ) WITHOUT ROWID;
                    CREATE TABLE settings (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL
                    ) WITHOUT ROWID;
                    """
            )
        }
        return migrator
    }
}
