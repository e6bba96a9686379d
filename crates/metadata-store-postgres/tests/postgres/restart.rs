//! A server restart during writes, on a private cluster this test starts itself: it needs the
//! PostgreSQL server binaries (`initdb`, `pg_ctl`), not a running server, and never restarts
//! a server it did not start.

use super::*;
use std::path::{Path, PathBuf};

/// Where a private cluster lives and how to control it.
#[derive(Clone)]
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

/// A PostgreSQL cluster in a temporary directory, on a port of its own, stopped and removed
/// when dropped.
struct PrivateCluster(Cluster);

/// Where the server binaries are: the newest `/usr/lib/postgresql/*/bin` with `initdb`.
fn server_binaries() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

impl Cluster {
    /// A command running `tool` from the server binaries, as the `postgres` user when this
    /// process is root (the server refuses to run as root).
    fn command(&self, tool: &str) -> Command {
        command_as_server_user(&self.bin.join(tool))
    }

    fn start() -> Result<PrivateCluster, String> {
        Cluster::init().map(PrivateCluster)
    }

    fn init() -> Result<Cluster, String> {
        let bin =
            server_binaries().ok_or("no PostgreSQL server binaries under /usr/lib/postgresql")?;
        let dir = std::env::temp_dir().join(format!("metadata-pg-restart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        if is_root() {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .map_err(|e| e.to_string())?;
            if !chown.success() {
                return Err("cannot hand the cluster's directory to the postgres user".into());
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let cluster = Cluster { bin, dir, port };
        let data = cluster.data();
        let out = cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        cluster.pg_ctl("start")?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `pg_ctl <action>` and waits for it to finish.
    fn pg_ctl(&self, action: &str) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let out = self
            .command("pg_ctl")
            .args(["-w", "-m", "fast", "-D"])
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &options, action])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl {action} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

fn command_as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self.0.pg_ctl("stop");
        let _ = std::fs::remove_dir_all(&self.0.dir);
    }
}

/// A server restart: writes during it fail with a retryable storage error (or an unknown
/// outcome), and the pool recovers by itself once the server is back. Returns `Err(reason)`
/// when this machine cannot start a private cluster, which the run reports as skipped.
pub(crate) fn server_restart_is_retryable_and_the_pool_recovers() -> Result<(), String> {
    let cluster = Cluster::start()?;
    let store = block_on(PostgresStore::connect(
        PostgresOptions::new(cluster.0.url())
            .max_connections(2)
            .connect_timeout(Duration::from_secs(2)),
    ))
    .unwrap();
    let metadata = MetadataService::new(store.clone());
    let user = UserId::new("restart").unwrap();
    block_on(metadata.backend().create_user(&user, Change::new())).unwrap();
    let restarting = {
        let control = cluster.0.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            control.pg_ctl("restart")
        })
    };
    let (mut failures, mut successes) = (0, 0);
    let mut attempt = 0;
    // Write through the restart, then until one more write succeeds after it.
    loop {
        attempt += 1;
        let done = restarting.is_finished();
        let change = Change::new()
            .replace_json(Tier::Public, json!({ "attempt": attempt }))
            .unwrap();
        match block_on(metadata.backend().update_user(&user, change)) {
            Ok(_) => {
                successes += 1;
                if done {
                    break;
                }
            }
            Err(Error::Storage {
                retryable: true, ..
            })
            | Err(Error::OutcomeUnknown { .. }) => failures += 1,
            Err(other) => panic!("during a restart: {other:?}"),
        }
        assert!(
            attempt < 3_000,
            "the store did not recover after the restart"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    restarting.join().unwrap().unwrap();
    assert!(failures > 0, "no write met the restart");
    assert!(
        successes > 1,
        "writes succeeded before and after the restart"
    );
    let read = block_on(metadata.backend().get_user(&user)).unwrap();
    assert_eq!(read.public_metadata.get("attempt"), Some(&json!(attempt)));
    println!(
        "      ({successes} writes succeeded and {failures} failed retryably around the restart)"
    );
    drop(store);
    drop(cluster);
    Ok(())
}
