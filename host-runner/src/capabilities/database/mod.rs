//! `database`: parameterized SQL against the component's own SQLite database.
//!
//! Each component scope (its name) gets its own file under the host's data
//! directory; the host's tables live in another file the guest cannot name.
//! ATTACH, DETACH and PRAGMA are refused by an authorizer, so a guest cannot
//! reach another file either. Access is `none`, `read` or `read-write`.

use crate::bindings::database::{self, DatabaseError, QueryResult, Value};
use crate::capabilities::import_log::{ImportCall, ImportLog};
use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::component::{HasData, Linker};

/// What a component may do with its database: the grant of a handler's
/// manifest (`database = "none" | "read" | "read-write"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    None,
    Read,
    ReadWrite,
}

/// App-wide state: where component databases live, and the ones open.
pub struct ComponentDatabases {
    dir: PathBuf,
    open: Mutex<HashMap<String, Arc<Mutex<Connection>>>>,
}

impl ComponentDatabases {
    pub fn new(dir: PathBuf) -> Self {
        ComponentDatabases { dir, open: Mutex::new(HashMap::new()) }
    }

    fn connection(&self, scope: &str) -> Result<Arc<Mutex<Connection>>, DatabaseError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(conn) = open.get(scope) {
            return Ok(conn.clone());
        }
        let failed =
            |e: &dyn std::fmt::Display| DatabaseError::ExecutionFailed(format!("opening the `{scope}` database: {e}"));
        std::fs::create_dir_all(&self.dir).map_err(|e| failed(&e))?;
        let conn = Connection::open(self.dir.join(format!("{scope}.sqlite"))).map_err(|e| failed(&e))?;
        conn.authorizer(Some(|ctx: AuthContext<'_>| match ctx.action {
            AuthAction::Attach { .. } | AuthAction::Detach { .. } | AuthAction::Pragma { .. } => Authorization::Deny,
            _ => Authorization::Allow,
        }));
        let conn = Arc::new(Mutex::new(conn));
        open.insert(scope.to_string(), conn.clone());
        Ok(conn)
    }
}

/// App-wide state: the component databases, and where statements are
/// recorded when asked.
pub struct DatabaseState {
    databases: Arc<ComponentDatabases>,
    log: Option<Arc<ImportLog>>,
}

impl DatabaseState {
    /// Component databases as files under `dir`.
    pub fn new(dir: PathBuf) -> Self {
        DatabaseState { databases: Arc::new(ComponentDatabases::new(dir)), log: None }
    }

    /// Records every store's statements from now on (see [`ImportLog`]).
    pub fn record_into(&mut self, log: Arc<ImportLog>) {
        self.log = Some(log);
    }

    /// A store's context: the database of `scope` (a handler's identity), with `access`.
    pub fn prepare(&self, scope: impl Into<String>, access: Access) -> DatabaseCtx {
        DatabaseCtx { log: self.log.clone(), ..DatabaseCtx::new(self.databases.clone(), scope, access) }
    }
}

/// Per-store context: the component's scope and access.
pub struct DatabaseCtx {
    databases: Arc<ComponentDatabases>,
    scope: String,
    access: Access,
    log: Option<Arc<ImportLog>>,
}

impl DatabaseCtx {
    pub fn new(databases: Arc<ComponentDatabases>, scope: impl Into<String>, access: Access) -> Self {
        DatabaseCtx { databases, scope: scope.into(), access, log: None }
    }

    fn log_statement<R>(&self, statement: String, write: bool, ran: &Result<R, DatabaseError>) {
        let error = ran.as_ref().err().map(|e| format!("{e:?}"));
        ImportLog::record(&self.log, || ImportCall::Database { statement, write, error });
    }

    fn run<R>(
        &self,
        statement: &str,
        params: &[Value],
        writes: bool,
        body: impl FnOnce(&mut rusqlite::Statement<'_>) -> rusqlite::Result<R>,
    ) -> Result<R, DatabaseError> {
        let denied = |what: &str| {
            tracing::warn!(scope = %self.scope, access = ?self.access, "database {what} denied");
            Err(DatabaseError::AccessDenied(format!(
                "component `{}` has {:?} database access; {what} needs more",
                self.scope, self.access
            )))
        };
        match (self.access, writes) {
            (Access::None, _) => return denied("access"),
            (Access::Read, true) => return denied("a write"),
            _ => {}
        }
        let conn = self.databases.connection(&self.scope)?;
        let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn.prepare(statement).map_err(|e| DatabaseError::InvalidStatement(e.to_string()))?;
        if self.access == Access::Read && !stmt.readonly() {
            return denied("a write");
        }
        for (i, value) in params.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, SqlParam(value))
                .map_err(|e| DatabaseError::InvalidStatement(format!("parameter {}: {e}", i + 1)))?;
        }
        body(&mut stmt).map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, msg)
                if f.code == rusqlite::ErrorCode::AuthorizationForStatementDenied =>
            {
                DatabaseError::InvalidStatement(msg.unwrap_or_else(|| "statement not authorized".into()))
            }
            other => DatabaseError::ExecutionFailed(other.to_string()),
        })
    }
}

struct SqlParam<'a>(&'a Value);

impl rusqlite::ToSql for SqlParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn to_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

pub trait DatabaseView {
    fn database(&mut self) -> &mut DatabaseCtx;
}

struct HasDatabase;

impl HasData for HasDatabase {
    type Data<'a> = &'a mut DatabaseCtx;
}

pub fn add_to_linker<T: DatabaseView + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    database::add_to_linker::<T, HasDatabase>(linker, T::database)
}

impl database::Host for DatabaseCtx {
    fn query(&mut self, statement: String, params: Vec<Value>) -> Result<QueryResult, DatabaseError> {
        let ran = self.run(&statement, &params, false, |stmt| {
            let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
            let width = columns.len();
            let mut rows = Vec::new();
            let mut cursor = stmt.raw_query();
            while let Some(row) = cursor.next()? {
                rows.push((0..width).map(|i| row.get_ref(i).map(to_value)).collect::<rusqlite::Result<_>>()?);
            }
            Ok(QueryResult { columns, rows })
        });
        self.log_statement(statement, false, &ran);
        ran
    }

    fn execute(&mut self, statement: String, params: Vec<Value>) -> Result<u64, DatabaseError> {
        let ran = self.run(&statement, &params, true, |stmt| stmt.raw_execute().map(|n| n as u64));
        self.log_statement(statement, true, &ran);
        ran
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use database::Host;

    fn databases() -> Arc<ComponentDatabases> {
        Arc::new(ComponentDatabases::new(std::env::temp_dir().join(format!("pilot-db-{}", uuid::Uuid::new_v4()))))
    }

    #[test]
    fn scopes_are_separate_files() {
        let dbs = databases();
        let mut a = DatabaseCtx::new(dbs.clone(), "a", Access::ReadWrite);
        let mut b = DatabaseCtx::new(dbs, "b", Access::ReadWrite);
        a.execute("CREATE TABLE t (x INTEGER)".into(), vec![]).unwrap();
        assert_eq!(a.execute("INSERT INTO t VALUES (?1)".into(), vec![Value::Integer(7)]).unwrap(), 1);
        let rows = a.query("SELECT x FROM t".into(), vec![]).unwrap();
        assert_eq!(rows.columns, vec!["x"]);
        assert!(matches!(rows.rows[0][0], Value::Integer(7)));
        match b.query("SELECT x FROM t".into(), vec![]) {
            Err(DatabaseError::InvalidStatement(msg)) => assert!(msg.contains("no such table"), "{msg}"),
            other => panic!("scope b must not see scope a's table: {other:?}"),
        }
    }

    #[test]
    fn access_levels_and_forbidden_statements() {
        let dbs = databases();
        let mut none = DatabaseCtx::new(dbs.clone(), "n", Access::None);
        assert!(matches!(none.query("SELECT 1".into(), vec![]), Err(DatabaseError::AccessDenied(_))));
        let mut read = DatabaseCtx::new(dbs.clone(), "r", Access::Read);
        assert!(read.query("SELECT 1".into(), vec![]).is_ok());
        assert!(matches!(read.execute("CREATE TABLE t (x)".into(), vec![]), Err(DatabaseError::AccessDenied(_))));
        assert!(matches!(read.query("CREATE TABLE t (x)".into(), vec![]), Err(DatabaseError::AccessDenied(_))));
        let mut rw = DatabaseCtx::new(dbs, "w", Access::ReadWrite);
        let attach = rw.execute("ATTACH DATABASE '/tmp/other.db' AS other".into(), vec![]);
        assert!(matches!(attach, Err(DatabaseError::InvalidStatement(_))), "{attach:?}");
        assert!(matches!(rw.query("PRAGMA table_list".into(), vec![]), Err(DatabaseError::InvalidStatement(_))));
    }
}
