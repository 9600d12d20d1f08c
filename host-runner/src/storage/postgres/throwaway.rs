//! A throwaway Postgres server for tests and benchmarks: a fresh cluster in a
//! temporary directory, on a free loopback port, from Debian's `postgresql`
//! package (`scripts/install-toolchain.sh` installs it). The server dies with
//! the process that started it (parent-death signal), so a test run that is
//! killed leaves no server behind; its directory is removed on drop.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub struct ThrowawayPostgres {
    dir: PathBuf,
    port: u16,
    server: Child,
}

/// Where `initdb` and `postgres` are: `pg_config --bindir`, else Debian's versioned directory.
fn bindir() -> Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).collect())
        .unwrap_or_default();
    versions.sort();
    versions.into_iter().rev().find(|bin| bin.join("initdb").exists()).context(
        "no Postgres server binaries (initdb) found: install Debian's `postgresql` package \
         (scripts/install-toolchain.sh does)",
    )
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// A command that runs as `postgres` when we are root (initdb refuses root),
/// killed when the thread that spawned it ends.
fn command(program: &Path, root: bool) -> Command {
    let mut cmd = Command::new("setpriv");
    if root {
        cmd.args(["--reuid=postgres", "--regid=postgres", "--clear-groups"]);
    }
    cmd.args(["--pdeathsig", "KILL"]).arg(program);
    cmd
}

/// Directories of earlier throwaway clusters whose server is gone (the
/// process that shared one exited without dropping it).
fn remove_dead_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for dir in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let named = dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("pilot-pg-"));
        let pid = std::fs::read_to_string(dir.join("data/postmaster.pid")).ok();
        let alive = pid
            .and_then(|p| p.lines().next().map(str::to_string))
            .is_some_and(|pid| Path::new("/proc").join(pid.trim()).exists());
        // A cluster another process is creating has no pid file yet: leave young ones.
        let young = std::fs::metadata(&dir)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() < Duration::from_secs(120));
        if named && !alive && !young {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// Whether the server takes a connection (from a thread of its own: the
/// synchronous client may not run inside a caller's async runtime).
fn accepts(url: &str) -> bool {
    std::thread::scope(|scope| {
        scope.spawn(|| postgres::Client::connect(url, postgres::NoTls).is_ok()).join().unwrap_or(false)
    })
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl ThrowawayPostgres {
    /// Creates and starts a cluster; returns once it accepts connections.
    /// Call it from a thread that outlives the server's use: the server is
    /// killed when that thread ends.
    pub fn start() -> Result<ThrowawayPostgres> {
        let bin = bindir()?;
        let root = is_root();
        remove_dead_clusters();
        let dir = std::env::temp_dir().join(format!("pilot-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        if root {
            let status = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status()?;
            if !status.success() {
                bail!("chown postgres {} failed (is Debian's postgresql package installed?)", dir.display());
            }
        }
        let data = dir.join("data");
        let out = command(&bin.join("initdb"), root)
            .args(["-D"])
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .output()
            .context("running initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let port = free_port()?;
        let server = command(&bin.join("postgres"), root)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=300"])
            .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.join("server.log"))?))
            .spawn()
            .context("starting postgres")?;
        let mut started = ThrowawayPostgres { dir, port, server };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !accepts(&started.url("postgres")) {
            if let Ok(Some(status)) = started.server.try_wait() {
                let log = std::fs::read_to_string(started.dir.join("server.log")).unwrap_or_default();
                bail!("postgres exited ({status}): {log}");
            }
            if Instant::now() > deadline {
                bail!("postgres did not accept connections within 30 s on port {}", started.port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(started)
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new empty database; its URL. (On a thread of its own: the
    /// synchronous client may not run inside a caller's async runtime.)
    pub fn create_database(&self) -> Result<String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("pilot_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let admin_url = self.url("postgres");
        std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<()> {
                    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)?;
                    admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
                    Ok(())
                })
                .join()
                .map_err(|_| anyhow::anyhow!("creating database {name} panicked"))?
        })?;
        Ok(self.url(&name))
    }

    /// The server every test of this process shares, started on first use
    /// from a thread that lives as long as the process (the server dies with it).
    pub fn shared() -> Result<&'static ThrowawayPostgres> {
        static SERVER: OnceLock<std::result::Result<ThrowawayPostgres, String>> = OnceLock::new();
        SERVER
            .get_or_init(|| {
                let (started, wait) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let _ = started.send(ThrowawayPostgres::start().map_err(|e| format!("{e:#}")));
                    loop {
                        std::thread::park();
                    }
                });
                wait.recv().unwrap_or_else(|_| Err("the postgres starter thread died".into()))
            })
            .as_ref()
            .map_err(|e| anyhow::anyhow!("starting a throwaway postgres: {e}"))
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
