//! Many processes on one record, and connections terminated while the store writes.

use super::*;

/// R3.5 across machines, simulated: 4 processes x 2,500 expected-version increments.
pub(crate) fn four_processes_increment_to_exactly_ten_thousand(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    let metadata = MetadataService::new(store.clone());
    let user = UserId::new("counter").unwrap();
    block_on(metadata.backend().create_user(&user, Change::new())).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .env(CHILD, format!("increment:2500:{schema}"))
                .env(URL_VAR, url)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(
            c.wait().unwrap().success(),
            "an incrementing process failed"
        );
    }
    let user = block_on(metadata.backend().get_user(&user)).unwrap();
    assert_eq!(user.public_metadata.get("counter"), Some(&json!(10_000)));
    block_on(store.drop_schema()).unwrap();
}

/// Writes while another connection terminates the store's connections: a write that returned
/// success is there, a definite error is absent, an unknown outcome is settled by reading the
/// version, and the store works afterwards.
pub(crate) fn terminated_connections_give_definite_or_unknown_outcomes(url: &str) {
    let schema = schema_name();
    let app = format!("metadata-fault-{schema}");
    let store = block_on(PostgresStore::connect(
        PostgresOptions::new(url)
            .schema(&schema)
            .max_connections(2)
            .application_name(&app),
    ))
    .unwrap();
    let metadata = MetadataService::new(store.clone());
    let user = UserId::new("fault").unwrap();
    block_on(metadata.backend().create_user(&user, Change::new())).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let (stop, url, app) = (stop.clone(), url.to_owned(), app.clone());
        std::thread::spawn(move || {
            let mut kills = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(3));
                let sql = format!(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{app}'"
                );
                kills += run_sql(&url, &sql)
                    .first()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
            kills
        })
    };
    let (mut ok, mut definite, mut unknown) = (0, 0, 0);
    let mut version = 1;
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut i = 0u64;
    while Instant::now() < deadline {
        i += 1;
        let value = Metadata::from_value(json!({ "i": i })).unwrap();
        let change = Change::new()
            .replace(Tier::Private, value)
            .expect_version(version);
        #[derive(PartialEq)]
        enum Outcome {
            Acknowledged,
            Definite,
            Unknown,
        }
        let outcome = match block_on(metadata.backend().update_user(&user, change)) {
            Ok(u) => {
                assert_eq!(u.version, version + 1);
                ok += 1;
                Outcome::Acknowledged
            }
            Err(Error::Storage { retryable, .. }) => {
                assert!(retryable, "a lost connection is retryable");
                definite += 1;
                Outcome::Definite
            }
            Err(Error::OutcomeUnknown { .. }) => {
                unknown += 1;
                Outcome::Unknown
            }
            Err(other) => panic!("write {i}: unexpected {other:?}"),
        };
        // Settle the truth by reading the version (retrying while connections are being cut).
        let current = loop {
            match block_on(metadata.backend().get_user(&user)) {
                Ok(u) => break u,
                Err(Error::Storage {
                    retryable: true, ..
                }) => continue,
                Err(other) => panic!("read: {other:?}"),
            }
        };
        let happened =
            current.version == version + 1 && current.private_metadata.get("i") == Some(&json!(i));
        assert!(
            happened || current.version == version,
            "write {i}: the record moved unexpectedly"
        );
        match outcome {
            Outcome::Acknowledged => assert!(happened, "write {i} was acknowledged but is missing"),
            Outcome::Definite => assert!(!happened, "write {i} failed definitely but is present"),
            Outcome::Unknown => {}
        }
        version = current.version;
    }
    stop.store(true, Ordering::Relaxed);
    let kills = killer.join().unwrap();
    assert!(kills > 0, "the fault test terminated no connection");
    assert!(ok > 0, "no write succeeded between the faults");
    assert!(definite + unknown > 0, "no write met a fault");
    // The pool recovers: writes work again. The killer's last sweep may have cut a connection
    // just before it stopped, so the first write after it may still meet that (a retryable or
    // unknown outcome); within a few attempts one succeeds.
    let recovered = (0..10).any(|_| {
        let change = Change::new()
            .replace_json(Tier::Public, json!({"done": true}))
            .unwrap();
        match block_on(metadata.backend().update_user(&user, change)) {
            Ok(_) => true,
            Err(Error::Storage {
                retryable: true, ..
            })
            | Err(Error::OutcomeUnknown { .. }) => {
                std::thread::sleep(Duration::from_millis(20));
                false
            }
            Err(other) => panic!("after the faults: {other:?}"),
        }
    });
    assert!(recovered, "the pool recovers");
    println!("      ({i} writes: {ok} acknowledged, {definite} definite errors, {unknown} unknown outcomes; {kills} connections terminated)");
    block_on(store.drop_schema()).unwrap();
}
