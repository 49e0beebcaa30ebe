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
        migrator.registerMigration("v2-gateway") { db in
            try db.execute(
                sql: """
                    -- Chart figures beside the headline value, so long ranges downsample in SQL.
                    ALTER TABLE measurements ADD COLUMN loss REAL;
                    ALTER TABLE measurements ADD COLUMN jitter REAL;
                    ALTER TABLE measurements ADD COLUMN low REAL;
                    ALTER TABLE measurements ADD COLUMN high REAL;
                    ALTER TABLE agents ADD COLUMN revoked_at INTEGER;
                    ALTER TABLE tests ADD COLUMN parent_id INTEGER REFERENCES tests(id) ON DELETE SET NULL;
                    ALTER TABLE tests ADD COLUMN occurrence INTEGER NOT NULL DEFAULT 0;
                    -- One child per (parent, occurrence): two schedulers cannot both make it.
                    CREATE UNIQUE INDEX tests_by_parent ON tests(parent_id, occurrence) WHERE parent_id IS NOT NULL;
                    CREATE TABLE users (
                        username TEXT PRIMARY KEY NOT NULL,
                        password_hash TEXT NOT NULL,
                        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
                        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
                        created_at INTEGER NOT NULL,
                        last_login_at INTEGER
                    ) WITHOUT ROWID;
                    CREATE TABLE sessions (
                        token_hash TEXT PRIMARY KEY NOT NULL,
                        username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE ON UPDATE CASCADE,
                        csrf_token TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        last_seen_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX sessions_by_user ON sessions(username);
                    CREATE TABLE api_tokens (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        prefix TEXT NOT NULL,
                        token_hash TEXT NOT NULL UNIQUE,
                        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
                        owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
                        created_at INTEGER NOT NULL,
                        last_used_at INTEGER,
                        expires_at INTEGER
                    );
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        message TEXT NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v3-devices") { db in
            try db.execute(
                sql: """
                    -- Managed gNMI devices. sealed_secrets is AES-GCM under the operator's device key;
                    -- the database never holds a password or private key in the clear.
                    CREATE TABLE devices (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        address TEXT NOT NULL,
                        port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
                        interface_addresses_json TEXT NOT NULL DEFAULT '[]',
                        auth TEXT NOT NULL,
                        username TEXT NOT NULL DEFAULT '',
                        sealed_secrets BLOB NOT NULL,
                        client_certificate_pem TEXT NOT NULL DEFAULT '',
                        ca_certificate_pem TEXT NOT NULL DEFAULT '',
                        server_name TEXT NOT NULL DEFAULT '',
                        pinned_certificate_pem TEXT NOT NULL DEFAULT '',
                        subscriptions_json TEXT NOT NULL,
                        mode TEXT NOT NULL,
                        encoding TEXT NOT NULL,
                        poll_interval_ms INTEGER NOT NULL,
                        report_interval_ms INTEGER NOT NULL,
                        agents_json TEXT NOT NULL,
                        test_id INTEGER REFERENCES tests(id) ON DELETE SET NULL,
                        created_at INTEGER NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v4-revoked-identities") { db in
            try db.execute(
                sql: """
                    -- Revocations outlive the agent row: nothing references or cascades into this table.
                    CREATE TABLE revoked_identities (
                        agent_name TEXT NOT NULL,
                        serial TEXT NOT NULL DEFAULT '',
                        revoked_at INTEGER NOT NULL,
                        PRIMARY KEY (agent_name, serial)
                    ) WITHOUT ROWID;
                    CREATE INDEX revoked_identities_by_serial ON revoked_identities(serial) WHERE serial != '';
                    ALTER TABLE agents ADD COLUMN certificate_serial TEXT NOT NULL DEFAULT '';
                    INSERT INTO revoked_identities (agent_name, serial, revoked_at)
                        SELECT name, '', revoked_at FROM agents WHERE revoked_at IS NOT NULL;
                    """
            )
        }
        migrator.registerMigration("v5-batch-digests-assignment-periods") { db in
            try db.execute(
                sql: """
                    -- What a stored batch held, so a re-used batch id with other measurements is caught.
                    ALTER TABLE ingested_batches ADD COLUMN digest INTEGER;
                    -- When each agent was assigned each test: results measured while assigned are
                    -- stored even if the test has moved on by the time they arrive.
                    CREATE TABLE assignment_periods (
                        test_id INTEGER NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
                        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                        from_ts INTEGER NOT NULL,
                        to_ts INTEGER
                    );
                    CREATE INDEX assignment_periods_by_agent ON assignment_periods(agent_id, test_id);
                    INSERT INTO assignment_periods (test_id, agent_id, from_ts) SELECT test_id, agent_id, 0 FROM test_assignments;
                    -- Triggers keep the history whatever path changes an assignment.
                    CREATE TRIGGER assignment_opened AFTER INSERT ON test_assignments BEGIN
                        INSERT INTO assignment_periods (test_id, agent_id, from_ts)
                        VALUES (NEW.test_id, NEW.agent_id, CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
                    END;
                    CREATE TRIGGER assignment_closed AFTER DELETE ON test_assignments BEGIN
                        UPDATE assignment_periods
                        SET to_ts = CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER)
                        WHERE test_id = OLD.test_id AND agent_id = OLD.agent_id AND to_ts IS NULL;
                    END;
                    """
            )
        }
        migrator.registerMigration("v6-change-log") { db in
            try db.execute(
                sql: """
                    -- Every published StoreChange, written in the mutation's own transaction, so other
                    -- processes on this file see each change (SQLiteStore+Changes.swift). AUTOINCREMENT:
                    -- ids are never reused after pruning, so a reader's cursor stays meaningful. No
                    -- foreign keys: a row outlives the test or agent it names (a delete is a change).
                    CREATE TABLE changes (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at INTEGER NOT NULL,
                        origin TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        test_id INTEGER,
                        agent_name TEXT,
                        agents_json TEXT NOT NULL DEFAULT '[]',
                        count INTEGER NOT NULL DEFAULT 0
                    );
                    -- The log replaces the generation counter the old test-change poller read.
                    DELETE FROM settings WHERE key = 'tests.generation';
                    """
            )
        }
        migrator.registerMigration("v7-rollups") { db in
            try db.execute(
                sql: """
                    -- 1-minute (resolution 60) and 1-hour (3600) aggregates of the raw rows, kept
                    -- longer than they are. Sums and counts, not means, so buckets merge exactly.
                    CREATE TABLE rollups (
                        resolution INTEGER NOT NULL CHECK (resolution IN (60, 3600)),
                        test_id INTEGER NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
                        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                        bucket INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        count INTEGER NOT NULL,
                        ok_count INTEGER NOT NULL,
                        value_count INTEGER NOT NULL,
                        value_sum REAL NOT NULL,
                        value_min REAL,
                        value_max REAL,
                        p50 REAL,
                        p90 REAL,
                        p99 REAL,
                        low_min REAL,
                        high_max REAL,
                        loss_count INTEGER NOT NULL,
                        loss_sum REAL NOT NULL,
                        jitter_count INTEGER NOT NULL,
                        jitter_sum REAL NOT NULL,
                        PRIMARY KEY (resolution, test_id, agent_id, bucket, kind)
                    ) WITHOUT ROWID;
                    -- Every bucket that ends at or before `through` is rolled up.
                    CREATE TABLE rollup_watermarks (
                        resolution INTEGER PRIMARY KEY NOT NULL,
                        through INTEGER NOT NULL
                    );
                    -- Buckets that measurements reached after they were rolled up: rolled up again.
                    CREATE TABLE rollup_late (
                        resolution INTEGER NOT NULL,
                        test_id INTEGER NOT NULL,
                        agent_id INTEGER NOT NULL,
                        bucket INTEGER NOT NULL,
                        PRIMARY KEY (resolution, test_id, agent_id, bucket)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v8-server-presence") { db in
            try db.execute(
                sql: """
                    -- Servers sharing this store report here; an agent row names the server holding
                    -- its session, so survivors can mark offline the agents of a server that died.
                    CREATE TABLE servers (
                        id TEXT PRIMARY KEY NOT NULL,
                        address TEXT NOT NULL,
                        version TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        last_seen INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    ALTER TABLE agents ADD COLUMN server_id TEXT NOT NULL DEFAULT '';
                    """
            )
        }
        migrator.registerMigration("v9-leases") { db in
            try db.execute(
                sql: """
                    -- One holder at a time for jobs every server could run; expiry hands them over.
                    CREATE TABLE leases (
                        name TEXT PRIMARY KEY NOT NULL,
                        holder TEXT NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v10-alerting") { db in
            try db.execute(
                sql: """
                    -- Rules and channels keep their spec as JSON (a channel's holds its webhook secret).
                    CREATE TABLE alert_rules (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        spec_json TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE TABLE alert_channels (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        spec_json TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    -- History: no foreign key to tests, so an alert outlives what it was about.
                    CREATE TABLE alerts (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        rule_id INTEGER REFERENCES alert_rules(id) ON DELETE SET NULL,
                        rule_name TEXT NOT NULL,
                        metric TEXT NOT NULL,
                        severity TEXT NOT NULL,
                        test_id INTEGER,
                        agent_name TEXT NOT NULL DEFAULT '',
                        raised_at INTEGER NOT NULL,
                        raised_value REAL NOT NULL,
                        cleared_at INTEGER,
                        cleared_value REAL,
                        message TEXT NOT NULL,
                        acknowledged_by TEXT,
                        acknowledged_at INTEGER,
                        silenced INTEGER NOT NULL DEFAULT 0 CHECK (silenced IN (0, 1))
                    );
                    -- One open alert per (rule, scope), whoever evaluates.
                    CREATE UNIQUE INDEX alerts_open ON alerts(rule_id, COALESCE(test_id, -1), agent_name)
                        WHERE cleared_at IS NULL;
                    CREATE INDEX alerts_by_test ON alerts(test_id, id);
                    CREATE TABLE alert_silences (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        rule_name TEXT NOT NULL DEFAULT '',
                        test_id INTEGER,
                        agent_name TEXT NOT NULL DEFAULT '',
                        until_at INTEGER NOT NULL,
                        reason TEXT NOT NULL,
                        created_by TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    -- The outbox: written with the alert, delivered and retried by the notifier.
                    CREATE TABLE alert_notifications (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
                        channel_id INTEGER REFERENCES alert_channels(id) ON DELETE SET NULL,
                        channel_name TEXT NOT NULL,
                        event TEXT NOT NULL CHECK (event IN ('raised', 'cleared')),
                        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL,
                        delivered_at INTEGER,
                        last_error TEXT NOT NULL DEFAULT ''
                    );
                    CREATE INDEX alert_notifications_due ON alert_notifications(state, next_attempt_at);
                    CREATE INDEX alert_notifications_by_alert ON alert_notifications(alert_id, id);
                    """
            )
        }
        migrator.registerMigration("v11-report-schedules") { db in
            try db.execute(
                sql: """
                    -- channel_name: a channel a schedule mails through cannot be deleted.
                    CREATE TABLE report_schedules (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        channel_name TEXT NOT NULL,
                        spec_json TEXT NOT NULL,
                        created_by TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        last_period_end INTEGER,
                        last_attempt_at INTEGER,
                        last_error TEXT NOT NULL DEFAULT '',
                        sent INTEGER NOT NULL DEFAULT 0
                    );
                    """
            )
        }
        return migrator
    }
}
