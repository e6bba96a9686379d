//! The HTTP fuzz target's committed corpus (`fuzz/corpus/http`: the routes' real requests and
//! what the fuzzer kept), replayed on every `cargo test`: each case is one request to the
//! routers in process, checked as the target checks it (see `http_fuzz/case.rs`).

mod http_fuzz {
    pub mod case;
}

#[test]
fn every_committed_http_case_holds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/http");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| http_fuzz::case::run(&data));
        assert!(outcome.is_ok(), "{} fails", path.display());
        cases += 1;
    }
    assert!(cases >= 28, "the seeds are there: {cases}");
}
