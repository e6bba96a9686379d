//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`), seeds and minimized findings
//! alike, through the same functions the fuzz targets call, on the stable toolchain. It lives
//! here because the `operations` target runs on this crate's store.

use metadata_conformance::fuzzing;
use metadata_store_memory::MemoryStore;
use std::path::PathBuf;
use std::sync::Arc;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no seeds", dir.display());
    files
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn parse_metadata_corpus() {
    for (_, data) in corpus("parse_metadata") {
        fuzzing::parse_metadata(&data);
    }
}

#[test]
fn merge_patch_corpus() {
    for (_, data) in corpus("merge_patch") {
        fuzzing::merge_patch(&data);
    }
}

#[test]
fn operations_corpus() {
    for (_, data) in corpus("operations") {
        fuzzing::operations(Arc::new(MemoryStore::new()), &data);
    }
}

#[test]
fn wire_roundtrip_corpus() {
    for (_, data) in corpus("wire_roundtrip") {
        fuzzing::wire_roundtrip(&data);
    }
}

#[test]
fn claims_corpus() {
    for (_, data) in corpus("claims") {
        fuzzing::claims(&data);
    }
}
