//! PostgreSQL: the connection pool, database creation and embedded migrations.

pub mod schema;

use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;

pub use diesel_async::pooled_connection::deadpool::PoolError;

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = diesel_async::pooled_connection::deadpool::Pool<AsyncPgConnection>;
pub type DbConn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

/// A pool of at most `size` connections; a caller waits at most `timeout` for one.
pub fn build_pool(url: &str, size: usize, timeout: Duration) -> anyhow::Result<DbPool> {
    pool_with(url, size, timeout, ManagerConfig::default())
}

/// The group-commit writers' own pool, of `size` connections that always run a prepared
/// statement's generic plan. Their statements find every row by key, so the generic plan is
/// the plan; left to choose, PostgreSQL would plan the first five executions on each
/// connection afresh (about 0.6 ms apiece), a cost the first sends of every connection paid.
pub fn build_writer_pool(url: &str, size: usize, timeout: Duration) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(|url| {
        let url = url.to_owned();
        async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute("SET plan_cache_mode = force_generic_plan")
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    pool_with(url, size, timeout, config)
}

fn pool_with(
    url: &str,
    size: usize,
    timeout: Duration,
    mut config: ManagerConfig<AsyncPgConnection>,
) -> anyhow::Result<DbPool> {
    // A checked-out connection is not pinged first (one round trip less per request): a
    // connection that broke fails its first query, which the callers treat as an outage and
    // retry, and the pool then drops it.
    config.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    DbPool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// Splits `postgres://…/name?opts` into the URL of the server's `postgres` database and `name`.
pub fn split_database_name(url: &str) -> anyhow::Result<(String, String)> {
    let (head, name, tail) = url_parts(url)?;
    Ok((format!("{head}postgres{tail}"), name.to_string()))
}

/// The same URL naming the database `name` instead.
pub fn with_database_name(url: &str, name: &str) -> anyhow::Result<String> {
    let (head, _, tail) = url_parts(url)?;
    Ok(format!("{head}{name}{tail}"))
}

/// `(everything up to the last '/', database name, '?' and after)`.
fn url_parts(url: &str) -> anyhow::Result<(&str, &str, &str)> {
    let scheme_end = url.find("://").context("DATABASE_URL has no scheme")? + 3;
    let query = url.find('?').unwrap_or(url.len());
    let slash = url[scheme_end..query]
        .find('/')
        .map(|i| i + scheme_end)
        .context("DATABASE_URL names no database")?;
    let name = &url[slash + 1..query];
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    anyhow::ensure!(
        valid,
        "database name {name:?} must be 1-63 letters, digits, '_' or '-'"
    );
    Ok((&url[..slash + 1], name, &url[query..]))
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

/// Creates the database `url` names if it is missing and applies pending migrations (at
/// start-up, and before seeding).
pub async fn prepare(url: &str) -> anyhow::Result<()> {
    ensure_database(url).await?;
    let applied = run_migrations(url).await?;
    if !applied.is_empty() {
        log::info!(migrations = applied.join(",").as_str(); "applied migrations");
    }
    Ok(())
}

/// Creates the database named in `url` if the server does not have it yet.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let (admin_url, name) = split_database_name(url)?;
    let mut conn = AsyncPgConnection::establish(&admin_url)
        .await
        .context("connecting to PostgreSQL")?;
    let found =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(&name)
            .get_result::<Exists>(&mut conn)
            .await?;
    if !found.exists {
        match conn
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
        {
            Ok(()) => log::info!(database = name.as_str(); "created database"),
            Err(err) => {
                // Another node may have created it at the same moment.
                let found = diesel::sql_query(
                    "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
                )
                .bind::<Text, _>(&name)
                .get_result::<Exists>(&mut conn)
                .await?;
                if !found.exists {
                    return Err(err).context("creating the database");
                }
            }
        }
    }
    Ok(())
}

/// The advisory lock that lets one node at a time migrate (nodes may start together).
const MIGRATION_LOCK: i64 = 0x636f_6e66_6162; // "confab"

/// Runs the pending migrations, one node at a time. The migration harness is synchronous, so
/// it runs on a thread of its own with its own runtime, never on the server's async threads.
pub async fn run_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    let url = url.to_string();
    with_sync_connection(url, |conn| {
        SimpleConnection::batch_execute(
            conn,
            &format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"),
        )
        .context("taking the migration lock")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"));
        // The lock also ends with the connection, should this fail.
        let _ = SimpleConnection::batch_execute(
            conn,
            &format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"),
        );
        applied
    })
    .await
}

/// Reverts every applied migration (used by the migration round-trip test).
pub async fn revert_all_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    let url = url.to_string();
    with_sync_connection(url, |conn| {
        conn.revert_all_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))
    })
    .await
}

type SyncPgConnection = AsyncConnectionWrapper<AsyncPgConnection>;

async fn with_sync_connection<T: Send + 'static>(
    url: String,
    work: impl FnOnce(&mut SyncPgConnection) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("confab-migrate".into())
        .spawn(move || {
            let result = <SyncPgConnection as diesel::Connection>::establish(&url)
                .context("connecting to PostgreSQL")
                .and_then(|mut conn| {
                    SimpleConnection::batch_execute(
                        &mut conn,
                        "SET client_min_messages = WARNING",
                    )?;
                    work(&mut conn)
                });
            let _ = tx.send(result);
        })?;
    rx.await.context("the migration thread died")?
}

/// Whether `err` means PostgreSQL went away or is restarting (the connection closed, the
/// server shutting down or starting up) rather than that the statement was wrong: the
/// request failed as a whole and can be retried.
pub fn is_outage(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::BrokenTransactionManager
        | Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            // SQLSTATE classes 08 and 57, which diesel does not name; as PostgreSQL words them.
            const OUTAGE: [&str; 6] = [
                "terminating connection",
                "the database system is shutting down",
                "the database system is starting up",
                "the database system is in recovery mode",
                "server closed the connection",
                "connection reset",
            ];
            let message = info.message();
            OUTAGE.iter().any(|m| message.contains(m))
        }
        _ => false,
    }
}

/// Whether a diesel error is PostgreSQL cancelling a statement at its `statement_timeout`
/// (SQLSTATE 57014, which diesel does not name; as PostgreSQL words it).
pub fn is_statement_timeout(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(err, Error::DatabaseError(DatabaseErrorKind::Unknown, info)
        if info.message().contains("canceling statement due to statement timeout"))
}

/// Checks that a pooled connection answers, within `timeout`.
pub async fn ping(pool: &DbPool, timeout: Duration) -> bool {
    let check = async {
        let mut conn = pool.get().await.ok()?;
        conn.batch_execute("SELECT 1").await.ok()
    };
    matches!(tokio::time::timeout(timeout, check).await, Ok(Some(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_database_name_off_the_url() {
        let (admin, name) =
            split_database_name("postgres://postgres@127.0.0.1:5432/confab").unwrap();
        assert_eq!(admin, "postgres://postgres@127.0.0.1:5432/postgres");
        assert_eq!(name, "confab");
        let (admin, name) = split_database_name("postgres://u:p@h/db_1?sslmode=disable").unwrap();
        assert_eq!(admin, "postgres://u:p@h/postgres?sslmode=disable");
        assert_eq!(name, "db_1");
        let renamed =
            with_database_name("postgres://postgres@h:5432/postgres?x=1", "other").unwrap();
        assert_eq!(renamed, "postgres://postgres@h:5432/other?x=1");
    }

    #[test]
    fn refuses_urls_without_a_usable_name() {
        assert!(split_database_name("postgres://h").is_err());
        assert!(split_database_name("postgres://h/").is_err());
        assert!(split_database_name("postgres://h/a\"b").is_err());
        assert!(split_database_name("h/db").is_err());
    }
}
