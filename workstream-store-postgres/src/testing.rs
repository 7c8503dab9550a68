//! A throwaway PostgreSQL server for tests and benches (feature `testing`).
//!
//! [`Cluster::start`] makes a new cluster with the installed binaries (`initdb` and `pg_ctl`
//! on `PATH`, or under `/usr/lib/postgresql/*/bin`) in a temporary directory, starts it on
//! a free loopback port with password authentication, and stops it and removes the
//! directory when dropped, or, for a cluster kept for a whole test run, when the process
//! that started it exits. Run as root, the server runs as the `postgres` user (or `nobody`),
//! since PostgreSQL refuses to run as root.
//!
//! [`server`] is what a test calls: the server `WORKSTREAM_POSTGRES_URL` names if it is set,
//! otherwise one throwaway cluster shared by the tests of the process. Where neither can be
//! had it says so loudly on stderr and returns `None`, and under `CI=true` it panics: a
//! test that needs PostgreSQL never passes silently without one.
//!
//! ```no_run
//! use workstream_store_postgres::{Options, PostgresStore};
//! use workstream_store_postgres::testing::server;
//!
//! let Some(server) = server("my test") else { return Ok(()) };
//! let options = Options::builder().schema(server.fresh_schema("my_test")).build();
//! let store = PostgresStore::open_with(&server.url(), options)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The variable that points the tests at an existing server instead of a throwaway one.
pub const URL_VARIABLE: &str = "WORKSTREAM_POSTGRES_URL";

/// The role the throwaway cluster's superuser has.
pub const USER: &str = "workstream";

/// A PostgreSQL server to test against: a throwaway [`Cluster`] or one a URL names.
#[derive(Debug)]
pub enum Server {
    /// A cluster started for the tests.
    Started(Cluster),
    /// The server `WORKSTREAM_POSTGRES_URL` names.
    External(String),
}

impl Server {
    /// The connection URL (with the password) of the server's default database.
    pub fn url(&self) -> String {
        match self {
            Server::Started(cluster) => cluster.url(),
            Server::External(url) => url.clone(),
        }
    }

    /// A schema name no other caller in this process gets: `prefix` (lowercased, other
    /// characters than letters, digits and `_` dropped), the process id and a counter.
    pub fn fresh_schema(&self, prefix: &str) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let clean: String = prefix
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .map(|c| c.to_ascii_lowercase())
            .take(30)
            .collect();
        format!(
            "t_{clean}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The cluster, when the tests started it (a drill that restarts the server needs one).
    pub fn cluster(&self) -> Option<&Cluster> {
        match self {
            Server::Started(cluster) => Some(cluster),
            Server::External(_) => None,
        }
    }
}

/// The server the tests of this process share: the one `WORKSTREAM_POSTGRES_URL` names, or
/// a throwaway cluster started on first use. `None`, said loudly on stderr, when neither
/// can be had; under `CI=true` that is a panic. `test` names the caller in the message.
pub fn server(test: &str) -> Option<&'static Server> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Ok(Server::External(url)),
        _ => Cluster::start_shared().map(Server::Started),
    });
    match server {
        Ok(server) => Some(server),
        Err(why) => {
            unavailable(test, why);
            None
        }
    }
}

/// Says loudly that `test` could not run for want of a PostgreSQL server, and panics under
/// `CI=true`.
pub fn unavailable(test: &str, why: &str) {
    let message = format!(
        "\n*** NOT RUN: {test}: no PostgreSQL server: {why}\n*** Install PostgreSQL (initdb and \
         pg_ctl on PATH or under /usr/lib/postgresql/*/bin) or set {URL_VARIABLE}.\n"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{message}*** Under CI=true a test that cannot run is a failure.");
    }
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Why a cluster could not be started.
type Failed = String;

/// A PostgreSQL cluster in a temporary directory, listening on a loopback port.
#[derive(Debug)]
pub struct Cluster {
    base: PathBuf,
    bin: PathBuf,
    run_as: Option<String>,
    port: u16,
    password: String,
    /// Stopped and removed on drop (a cluster shared by a process is left to its watchdog).
    owned: bool,
    /// Whether the server accepts TLS, with a self-signed certificate for 127.0.0.1.
    tls: bool,
}

impl Cluster {
    /// Makes and starts a new cluster, stopped and removed when the value is dropped.
    pub fn start() -> Result<Cluster, String> {
        let mut cluster = Self::make(false)?;
        cluster.owned = true;
        Ok(cluster)
    }

    /// [`start`](Self::start), with TLS on: the server presents a self-signed certificate
    /// for `127.0.0.1` ([`certificate`](Self::certificate)), made with the `openssl` command.
    pub fn start_with_tls() -> Result<Cluster, String> {
        let mut cluster = Self::make(true)?;
        cluster.owned = true;
        Ok(cluster)
    }

    /// The server's certificate (PEM), when it was started with TLS.
    pub fn certificate(&self) -> Option<PathBuf> {
        self.tls.then(|| self.data().join("server.crt"))
    }

    /// A cluster that lives as long as the process: a watchdog stops and removes it once the
    /// process has exited.
    fn start_shared() -> Result<Cluster, String> {
        Self::make(false)
    }

    fn make(tls: bool) -> Result<Cluster, Failed> {
        let bin = find_binaries()?;
        let run_as = if is_root() {
            Some(
                ["postgres", "nobody"]
                    .into_iter()
                    .find(|u| user_exists(u))
                    .ok_or("running as root, and neither a `postgres` nor a `nobody` user exists to run the server as")?
                    .to_owned(),
            )
        } else {
            None
        };
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // The pid, a counter and the time: a later process given the same pid never meets
        // this directory.
        let base = std::env::temp_dir().join(format!(
            "workstream-pg-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            nanos()
        ));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base)
            .map_err(|e| format!("cannot make {}: {e}", base.display()))?;
        let password = format!("pw-{}-{}", std::process::id(), nanos());
        std::fs::write(base.join("pwfile"), &password)
            .map_err(|e| format!("cannot write the password file: {e}"))?;
        if let Some(user) = &run_as {
            run(Command::new("chown").args(["-R", user]).arg(&base))?;
        }
        let mut cluster = Cluster {
            base,
            bin,
            run_as,
            port: 0,
            password,
            owned: false,
            tls,
        };
        // From here on, whatever happens, the watchdog stops the server and removes its
        // directory once this process has exited.
        if let Err(e) = cluster.watch() {
            let _ = std::fs::remove_dir_all(&cluster.base);
            return Err(e);
        }
        cluster.initdb()?;
        if tls {
            cluster.make_certificate()?;
        }
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port()?;
            cluster.configure()?;
            match cluster.pg_ctl(&["start", "-w", "-t", "60", "-l"], Some("log")) {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    // A server still starting after the wait is stopped before the next try.
                    let _ = cluster.pg_ctl(&["stop", "-m", "immediate", "-w"], None);
                    last = e;
                }
            }
        }
        Err(format!("the server would not start: {last}"))
    }

    fn data(&self) -> PathBuf {
        self.base.join("data")
    }

    /// Runs `program` from the server's binaries as the user the server runs as.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                // The caller's directory may be one the server's user cannot enter (under
                // `/root`), which older `initdb` and `pg_ctl` cannot start from.
                c.current_dir(&self.base);
                c
            }
            None => Command::new(path),
        }
    }

    fn initdb(&self) -> Result<(), Failed> {
        run(self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args([
                "-U",
                USER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", self.base.join("pwfile").display())))
    }

    /// A self-signed certificate and its key, in the data directory, owned by the server's
    /// user and readable by it alone.
    fn make_certificate(&self) -> Result<(), Failed> {
        let (crt, key) = (
            self.data().join("server.crt"),
            self.data().join("server.key"),
        );
        let mut openssl = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", "openssl"])
                    .current_dir(&self.base);
                c
            }
            None => Command::new("openssl"),
        };
        run(openssl
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&crt))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make the key private: {e}"))
    }

    fn configure(&self) -> Result<(), Failed> {
        let conf = self.data().join("postgresql.auto.conf");
        let tls = if self.tls {
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
        } else {
            ""
        };
        let text = format!(
            "# written by workstream's test harness\n\
             port = {}\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = ''\n\
             max_connections = 200\n\
             max_pred_locks_per_transaction = 256\n{tls}",
            self.port
        );
        std::fs::write(&conf, text).map_err(|e| format!("cannot write {}: {e}", conf.display()))
    }

    fn pg_ctl(&self, args: &[&str], log: Option<&str>) -> Result<(), Failed> {
        let mut c = self.command("pg_ctl");
        c.arg("-D").arg(self.data()).args(args);
        if let Some(log) = log {
            c.arg(self.base.join(log));
        }
        run(&mut c).map_err(|e| format!("{e}{}", self.log_tail()))
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.base.join("log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().rev().take(8).collect();
        if lines.is_empty() {
            return String::new();
        }
        let tail: Vec<&str> = lines.into_iter().rev().collect();
        format!("\nthe server's log ends:\n{}", tail.join("\n"))
    }

    /// Starts a watchdog that stops the server and removes its directory once this process
    /// has exited (in a process group of its own, so that it outlives the test run).
    fn watch(&self) -> Result<(), Failed> {
        use std::os::unix::process::CommandExt;
        let stop = format!(
            "'{}' -D '{}' stop -m immediate",
            self.bin.join("pg_ctl").display(),
            self.data().display()
        );
        let stop = match &self.run_as {
            Some(user) => format!("runuser -u {user} -- {stop}"),
            None => stop,
        };
        // This process, by its pid and its start time (field 22 of /proc/<pid>/stat), so a
        // later process given the same pid is not taken for it.
        let pid = std::process::id();
        let started = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let after_name = stat.rsplit_once(')')?.1.to_owned();
                after_name.split_whitespace().nth(19).map(str::to_owned)
            })
            .unwrap_or_default();
        let alive = if started.is_empty() {
            format!("kill -0 {pid} 2>/dev/null")
        } else {
            format!(
                "[ \"$(sed 's/.*) //' /proc/{pid}/stat 2>/dev/null | cut -d' ' -f20)\" = '{started}' ]"
            )
        };
        let script = format!(
            "cd /; while {alive}; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{base}'",
            base = self.base.display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|e| format!("the watchdog that stops the server could not start: {e}"))
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The connection URL of the `postgres` database, as the superuser [`USER`].
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The connection URL of database `database`, as the superuser [`USER`].
    pub fn url_of(&self, database: &str) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{database}?connect_timeout=5",
            self.password, self.port
        )
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`).
    pub fn kill(&self) -> Result<(), String> {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"], None)
    }

    /// Starts the server again after [`kill`](Self::kill).
    pub fn restart(&self) -> Result<(), String> {
        self.pg_ctl(&["start", "-w", "-t", "60", "-l"], Some("log"))
    }

    /// The data directory, where the server's files are.
    pub fn data_dir(&self) -> PathBuf {
        self.data()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.owned {
            let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"], None);
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }
}

fn run(command: &mut Command) -> Result<(), Failed> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{shown} could not run: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{shown} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim(),
        String::from_utf8_lossy(&output.stdout).trim()
    ))
}

/// The directory holding `initdb` and `pg_ctl`: on `PATH`, or the newest
/// `/usr/lib/postgresql/*/bin`.
fn find_binaries() -> Result<PathBuf, Failed> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                // Debian links them from elsewhere; the server binary sits beside the target.
                let initdb = std::fs::canonicalize(dir.join("initdb")).unwrap_or_default();
                match initdb.parent() {
                    Some(real) if has_both(real) => return Ok(real.to_owned()),
                    _ => return Ok(dir),
                }
            }
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "initdb and pg_ctl are neither on PATH nor under /usr/lib/postgresql/*/bin".to_owned()
    })
}

fn is_root() -> bool {
    // The effective uid, from the kernel's view of this process (no `unsafe` call needed).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn user_exists(user: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> Result<u16, Failed> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos()
}
