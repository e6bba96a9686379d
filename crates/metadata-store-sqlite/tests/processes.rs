//! Tests that need more than one process: two writer processes on one file (R3.5), and
//! durability under SIGKILL. The test binary re-runs itself as the child processes, told what to
//! do by the `METADATA_SQLITE_CHILD` environment variable; it has its own `main`
//! (`harness = false`) and prints a closing `N passed, N failed` line.

use metadata_core::{Change, Tier, UserId};
use metadata_store::{FeedStore, MetadataService};
use metadata_store_sqlite::SqliteStore;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CHILD: &str = "METADATA_SQLITE_CHILD";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn child(mode: &str) {
    let mut parts = mode.splitn(3, ':');
    let (what, arg, path) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    if what == "group-writer" {
        return group_writer(arg, path);
    }
    let metadata = MetadataService::new(SqliteStore::open_file(path).unwrap());
    match what {
        "increment" => {
            let times: usize = arg.parse().unwrap();
            let user = UserId::new("counter").unwrap();
            block_on(metadata_conformance::concurrency::increment(
                &metadata, &user, times,
            ))
            .unwrap();
        }
        "writer" => {
            let mut out = std::io::stdout().lock();
            for i in 0..1_000_000 {
                let id = UserId::new(format!("{arg}_{i}")).unwrap();
                let change = Change::new()
                    .replace_json(Tier::Private, json!({ "i": i }))
                    .unwrap();
                writeln!(out, "begin {i}").unwrap();
                out.flush().unwrap();
                block_on(metadata.backend().create_user(&id, change)).unwrap();
                writeln!(out, "ack {i}").unwrap();
                out.flush().unwrap();
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// Eight threads writing at once with synchronous=FULL, so their commits are grouped; each
/// acknowledgement is printed as `ack <thread> <n>` after its write returned, and every 64
/// acknowledgements the store's group counts as `stats <groups> <transactions>`.
fn group_writer(round: &str, path: &str) {
    use metadata_store_sqlite::SqliteOptions;
    let store = SqliteStore::open(SqliteOptions::file(path).synchronous_full(true)).unwrap();
    let metadata = MetadataService::new(store.clone());
    let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let acks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (metadata, out, acks, store) =
                (metadata.clone(), out.clone(), acks.clone(), store.clone());
            let round = round.to_owned();
            std::thread::spawn(move || {
                for i in 0..1_000_000 {
                    let id = UserId::new(format!("{round}_{t}_{i}")).unwrap();
                    let change = Change::new()
                        .replace_json(Tier::Private, json!({ "i": i }))
                        .unwrap();
                    block_on(metadata.backend().create_user(&id, change)).unwrap();
                    let mut out = out.lock().unwrap();
                    writeln!(out, "ack {t} {i}").unwrap();
                    if acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 64 == 63 {
                        let s = store.commit_stats();
                        writeln!(out, "stats {} {}", s.groups, s.transactions).unwrap();
                    }
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Group commit under SIGKILL: eight writer threads in one process, killed at random moments
/// ten times; every write acknowledged to any thread is there afterwards, whole, with its
/// change feed event (and no event without its write), and the
/// process had been committing in groups (fewer commits than transactions).
fn sigkill_during_group_commits_loses_no_acknowledged_write() -> usize {
    let path = temp_db("groups.db");
    drop(SqliteStore::open_file(&path).unwrap());
    let mut total = 0;
    for round in 0..10 {
        let mut child = spawn(
            format!("group-writer:g{round}:{}", path.display()),
            Stdio::piped(),
        );
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = [0usize; 8];
        let mut grouped = false;
        let started = Instant::now();
        let run_for = Duration::from_millis(100 + 37 * round as u64);
        while started.elapsed() < run_for || !grouped {
            let line = lines.next().expect("the writer runs until killed").unwrap();
            let parts: Vec<&str> = line.split(' ').collect();
            match parts[..] {
                ["ack", t, i] => {
                    let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
                    assert_eq!(i, acked[t], "acknowledgements arrive in order per thread");
                    acked[t] += 1;
                }
                ["stats", groups, transactions] => {
                    let (g, x): (u64, u64) =
                        (groups.parse().unwrap(), transactions.parse().unwrap());
                    grouped |= g < x;
                }
                _ => panic!("unexpected line {line}"),
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no grouping seen"
            );
        }
        child.kill().unwrap();
        child.wait().unwrap();
        for line in lines.map_while(Result::ok) {
            if let ["ack", t, _] = line.split(' ').collect::<Vec<_>>()[..] {
                acked[t.parse::<usize>().unwrap()] += 1;
            }
        }
        let store = SqliteStore::open_file(&path).unwrap();
        assert_eq!(block_on(store.integrity_check()).unwrap(), "ok");
        verify_feed(&store, round);
        let metadata = MetadataService::new(store);
        for (t, &n) in acked.iter().enumerate() {
            assert!(n > 0, "round {round}: thread {t} acknowledged nothing");
            for i in 0..n {
                let id = UserId::new(format!("g{round}_{t}_{i}")).unwrap();
                let user = block_on(metadata.backend().get_user(&id)).unwrap_or_else(|e| {
                    panic!("round {round}: acknowledged write {t}/{i} is missing: {e}")
                });
                assert_eq!(user.private_metadata.to_value(), json!({ "i": i }));
            }
        }
        total += acked.iter().sum::<usize>();
    }
    total
}

fn spawn(mode: String, stdout: Stdio) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .env(CHILD, mode)
        .stdout(stdout)
        .spawn()
        .unwrap()
}

/// This run's own temporary directory: a fresh, uniquely named one (a directory named after the
/// process id can hold an earlier run's files once process ids are reused), removed by `main`.
static DIR: std::sync::LazyLock<tempfile::TempDir> = std::sync::LazyLock::new(|| {
    tempfile::Builder::new()
        .prefix("metadata-sqlite-processes-")
        .tempdir()
        .unwrap()
});

fn temp_db(name: &str) -> PathBuf {
    DIR.path().join(name)
}

/// R3.5: two processes, 5,000 expected-version increments each, on one file: exactly 10,000.
fn two_processes_increment_to_exactly_ten_thousand() {
    let path = temp_db("counter.db");
    let metadata = MetadataService::new(SqliteStore::open_file(&path).unwrap());
    let user = UserId::new("counter").unwrap();
    block_on(metadata.backend().create_user(&user, Change::new())).unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| spawn(format!("increment:5000:{}", path.display()), Stdio::null()))
        .collect();
    for mut c in children {
        assert!(
            c.wait().unwrap().success(),
            "an incrementing process failed"
        );
    }
    let user = block_on(metadata.backend().get_user(&user)).unwrap();
    assert_eq!(user.public_metadata.get("counter"), Some(&json!(10_000)));
}

/// A small xorshift generator, seeded from the clock, for kill times.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Checks the change feed after a kill: positions are gapless, every record (all written by
/// creations) has exactly its one creation event, carrying the record as stored, and no event
/// exists without its record. Returns how many events there are.
fn verify_feed(store: &SqliteStore, round: usize) -> usize {
    use metadata_core::feed::Operation;
    use metadata_core::{Filter, ListQuery, ResourceKind};
    use metadata_store::MetadataStore;
    let mut events = Vec::new();
    loop {
        let after = events
            .last()
            .map_or(0, |e: &metadata_core::feed::ChangeEvent| e.position);
        let page = block_on(store.changes(after, 5_000)).unwrap();
        if page.is_empty() {
            break;
        }
        events.extend(page);
    }
    let mut by_key = std::collections::BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.position,
            i as u64 + 1,
            "round {round}: positions are gapless"
        );
        assert_eq!(e.change.operation, Operation::Created);
        assert!(
            by_key.insert(e.change.id.clone(), e).is_none(),
            "round {round}: one event per write"
        );
    }
    let mut records = 0;
    let mut query = ListQuery {
        kind: ResourceKind::User,
        filter: Filter::All,
        after: None,
        limit: 1_000,
        order: metadata_core::ListOrder::BY_ID,
        offset: 0,
    };
    loop {
        let page = block_on(store.list(&query)).unwrap();
        for record in &page.items {
            let key = record.key().storage_key();
            let event = by_key
                .get(&key)
                .unwrap_or_else(|| panic!("round {round}: {key} was written without its event"));
            assert_eq!(
                event.change.record.as_deref(),
                Some(record.to_json().as_str())
            );
            records += 1;
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        records,
        events.len(),
        "round {round}: no event without its write"
    );
    events.len()
}

/// Checks the file after a kill: it is sound, every acknowledged write is there whole with its
/// event, and the write the kill interrupted is either all there or not there at all.
fn verify(path: &Path, round: usize, acked: usize) {
    let store = SqliteStore::open_file(path).unwrap();
    assert_eq!(
        block_on(store.integrity_check()).unwrap(),
        "ok",
        "round {round}"
    );
    verify_feed(&store, round);
    let metadata = MetadataService::new(store);
    for i in 0..acked {
        let id = UserId::new(format!("r{round}_{i}")).unwrap();
        let user = block_on(metadata.backend().get_user(&id))
            .unwrap_or_else(|e| panic!("round {round}: acknowledged write {i} is missing: {e}"));
        assert_eq!(user.private_metadata.to_value(), json!({ "i": i }));
    }
    let interrupted = UserId::new(format!("r{round}_{acked}")).unwrap();
    if let Ok(user) = block_on(metadata.backend().get_user(&interrupted)) {
        assert_eq!(
            user.private_metadata.to_value(),
            json!({ "i": acked }),
            "round {round}: the interrupted write is whole if it is there"
        );
    }
}

/// What one killed writer said before it died.
struct Round {
    acked: usize,
    mid_write: bool,
}

/// Starts a writer, lets it acknowledge writes for a random while, then kills it with SIGKILL
/// right after it announces its next write, so that the kill lands while that write runs.
fn kill_one_writer(path: &Path, round: usize, rng: &mut Rng) -> Round {
    use std::os::unix::process::ExitStatusExt;
    let mut child = spawn(
        format!("writer:r{round}:{}", path.display()),
        Stdio::piped(),
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let run_for = Duration::from_millis(20 + rng.next() % 300);
    let started = Instant::now();
    let mut acked = 0;
    loop {
        let line = lines
            .next()
            .expect("the writer runs until it is killed")
            .unwrap();
        if line.starts_with("ack ") {
            acked += 1;
        } else if line.starts_with("begin ") && acked > 0 && started.elapsed() >= run_for {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the writer was killed, not done");
    // Whatever it printed before dying: an "ack" means the kill came after the write ended.
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let mid_write = !rest.iter().any(|l| l.starts_with("ack "));
    Round {
        acked: acked + rest.iter().filter(|l| l.starts_with("ack ")).count(),
        mid_write,
    }
}

/// Durability: a writer process killed with SIGKILL during a write, 20 times; every write it saw
/// acknowledged is there afterwards with its change feed event (no event without its write), the interrupted one is whole or absent, and the file checks
/// out. Kills that land between writes are tried again (at most 200 kills in all).
fn sigkill_loses_no_acknowledged_write() -> (usize, usize) {
    let path = temp_db("durability.db");
    drop(SqliteStore::open_file(&path).unwrap());
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let (mut total, mut rounds, mut kills) = (0, 0, 0);
    while rounds < 20 {
        assert!(
            kills < 200,
            "only {rounds} of {kills} kills landed during a write"
        );
        let round = kills;
        kills += 1;
        let outcome = kill_one_writer(&path, round, &mut rng);
        assert!(
            outcome.acked > 0,
            "round {round}: no write was acknowledged"
        );
        verify(&path, round, outcome.acked);
        total += outcome.acked;
        if outcome.mid_write {
            rounds += 1;
        }
    }
    (total, kills)
}

fn main() {
    if let Ok(mode) = std::env::var(CHILD) {
        child(&mode);
        return;
    }
    let started = Instant::now();
    two_processes_increment_to_exactly_ten_thousand();
    println!("test two_processes_increment_to_exactly_ten_thousand ... ok");
    let (acked, kills) = sigkill_loses_no_acknowledged_write();
    println!("test sigkill_loses_no_acknowledged_write ... ok ({acked} acknowledged writes; 20 of {kills} kills landed during a write)");
    let grouped = sigkill_during_group_commits_loses_no_acknowledged_write();
    println!("test sigkill_during_group_commits_loses_no_acknowledged_write ... ok ({grouped} acknowledged writes over 10 kills)");
    let _ = std::fs::remove_dir_all(DIR.path());
    println!(
        "processes: 3 passed, 0 failed ({:.1}s)",
        started.elapsed().as_secs_f64()
    );
}
