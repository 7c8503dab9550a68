//! Connections: r2d2 keeps the pool; each connection keeps the statements it prepared.

use std::collections::HashMap;
use std::time::SystemTime;

use postgres::{Client, Config, NoTls, Statement};

/// A connection of the pool, with the statements prepared on it (a statement is prepared
/// once per connection, so a transaction costs one round trip per statement).
pub(crate) struct Conn {
    pub(crate) client: Client,
    pub(crate) statements: HashMap<String, Statement>,
    /// The server process serving the connection: its pid and start, which name it across
    /// restarts (a pid may be reused, a pid and start time are not).
    pub(crate) backend: Backend,
}

/// A server process: its pid and when it started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backend {
    pub(crate) pid: i32,
    pub(crate) started: SystemTime,
}

/// Makes the pool's connections: connects with the store's configuration and sets the
/// session up (`setup`, the `SET` statements every session runs first).
#[derive(Clone)]
pub(crate) struct Manager {
    pub(crate) config: Config,
    pub(crate) setup: String,
    /// Connects over TLS when set.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<postgres_native_tls::MakeTlsConnector>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("setup", &self.setup)
            .finish_non_exhaustive()
    }
}

impl Manager {
    pub(crate) fn connect(&self) -> Result<Conn, postgres::Error> {
        #[cfg(feature = "tls")]
        let client = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        };
        #[cfg(not(feature = "tls"))]
        let client = self.config.connect(NoTls);
        let mut client = client?;
        client.batch_execute(&self.setup)?;
        let row = client.query_one(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
        )?;
        let backend = Backend {
            pid: row.try_get(0)?,
            started: row.try_get(1)?,
        };
        Ok(Conn {
            client,
            statements: HashMap::new(),
            backend,
        })
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Manager::connect(self)
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}
