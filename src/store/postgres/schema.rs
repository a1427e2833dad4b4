//! The database schema: versioned migrations, run by leadline itself when
//! it opens the database, each in its own transaction with its row in
//! `leadline_migrations`. Several daemons starting at once run each
//! migration once (the row's key makes the second wait, then skip it). An
//! older leadline refuses a database a newer one has migrated.
//!
//! Only SQL that CockroachDB and YugabyteDB also speak: no advisory locks,
//! no `LISTEN`/`NOTIFY`, no stored procedures; `bytea`, `jsonb`,
//! `timestamptz`, `numeric`, `unnest`, `ON CONFLICT`, data-modifying
//! `WITH`.

use deadpool_postgres::Object;

use super::{wait, words};
use crate::store::StoreError;

/// One migration: its number, what it does, its statements.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Never change one that shipped: add another.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "the key-value table and the writers",
        sql: "
CREATE TABLE leadline_kv (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE leadline_writers (id text PRIMARY KEY, grp bigint NOT NULL);
INSERT INTO leadline_writers (id, grp) VALUES ('(turn)', 0);",
    },
    Migration {
        version: 2,
        name: "a view per record kind",
        sql: include_str!("views.sql"),
    },
    Migration {
        version: 3,
        name: "the leases of work done once among the daemons",
        sql: "
CREATE TABLE leadline_leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    fence bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    renewed_at timestamptz NOT NULL
);",
    },
];

/// The newest schema this build knows.
pub const VERSION: i32 = 3;

/// Brings the database to [`VERSION`].
///
/// Fails when the database cannot be read or written, or it has a newer
/// schema than this build knows.
pub(super) fn migrate(client: &Object, location: &str) -> Result<(), StoreError> {
    let failed = |e: tokio_postgres::Error| StoreError::Open {
        path: location.into(),
        reason: format!("setting up its tables failed: {}", words(&e)),
    };
    wait(client.batch_execute(
        "CREATE TABLE IF NOT EXISTS leadline_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied timestamptz NOT NULL DEFAULT now()
        )",
    ))
    .map_err(failed)?;
    let newest: Option<i32> =
        wait(client.query_one("SELECT max(version) FROM leadline_migrations", &[]))
            .map_err(failed)?
            .get(0);
    if let Some(found) = newest.filter(|v| *v > VERSION) {
        return Err(StoreError::TooNew {
            path: location.into(),
            found: u64::try_from(found).unwrap_or(u64::MAX),
            readable: u64::try_from(VERSION).unwrap_or(0),
        });
    }
    for m in MIGRATIONS
        .iter()
        .filter(|m| newest.is_none_or(|n| m.version > n))
    {
        let applied = wait(async {
            client.batch_execute("BEGIN").await?;
            // Taken first: a daemon migrating at the same time waits here,
            // then finds the row and skips it.
            let mine = client
                .execute(
                    "INSERT INTO leadline_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING",
                    &[&m.version, &m.name],
                )
                .await?;
            if mine == 1 {
                client.batch_execute(m.sql).await?;
                client.batch_execute("COMMIT").await?;
                Ok(true)
            } else {
                client.batch_execute("ROLLBACK").await?;
                Ok(false)
            }
        });
        match applied {
            Ok(true) => tracing::info!("store: database schema {} ({})", m.version, m.name),
            Ok(false) => {}
            Err(e) => {
                let _ = wait(client.batch_execute("ROLLBACK"));
                return Err(StoreError::Open {
                    path: location.into(),
                    reason: format!("migration {} ({}) failed: {}", m.version, m.name, words(&e)),
                });
            }
        }
    }
    Ok(())
}
