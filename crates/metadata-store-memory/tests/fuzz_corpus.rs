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
fn request_body_corpus() {
    for (_, data) in corpus("request_body") {
        fuzzing::request_body(&data);
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
    let mut events = 0;
    for (_, data) in corpus("wire_roundtrip") {
        fuzzing::wire_roundtrip(&data);
        events +=
            usize::from(serde_json::from_slice::<metadata_core::feed::ChangeEvent>(&data).is_ok());
    }
    assert!(
        events > 0,
        "the corpus seeds the change feed event's parser"
    );
}

#[test]
fn lookup_params_corpus() {
    for (_, data) in corpus("lookup_params") {
        fuzzing::lookup_params(&data);
    }
}

#[test]
fn schema_document_corpus() {
    for (_, data) in corpus("schema_document") {
        fuzzing::schema_document(&data);
    }
}

#[test]
fn claims_corpus() {
    for (_, data) in corpus("claims") {
        fuzzing::claims(&data);
    }
}

/// The corpus holds every seed built from the edge values (`fuzzing::edge_seeds`), byte for
/// byte. `METADATA_WRITE_FUZZ_SEEDS=1 cargo test -p metadata-store-memory --test fuzz_corpus`
/// writes them.
#[test]
fn the_corpus_holds_the_edge_seeds() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let write = std::env::var_os("METADATA_WRITE_FUZZ_SEEDS").is_some();
    for (target, name, bytes) in fuzzing::edge_seeds() {
        let path = root.join(target).join(&name);
        if write {
            std::fs::write(&path, &bytes).unwrap();
        }
        let stored = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (write the seeds, see above)", path.display()));
        assert_eq!(
            stored,
            bytes,
            "{} differs from its edge seed",
            path.display()
        );
    }
}

#[test]
fn the_edge_operations_seed_writes_and_finds_edge_values() {
    use metadata_conformance::model::{decode_ops, Op};
    let (_, _, bytes) = fuzzing::edge_seeds()
        .into_iter()
        .find(|(target, _, _)| *target == "operations")
        .unwrap();
    let ops = decode_ops(&bytes);
    let updates = ops.iter().filter(|op| matches!(op, Op::Update(..))).count();
    let finds = ops.iter().filter(|op| matches!(op, Op::Find(..))).count();
    assert!(matches!(ops[0], Op::Create(..)));
    assert_eq!(updates, 21, "seven edge objects, three tiers each");
    assert_eq!(finds + updates + 1, ops.len().min(200));
    // Decode the updates back to see that each edge object is written.
    let written: Vec<String> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Update(_, change) => Some(format!("{change:?}")),
            _ => None,
        })
        .collect();
    assert!(written.iter().any(|c| c.contains("\\u0000")), "{written:?}");
    assert!(written.iter().any(|c| c.contains("-0.0")));
    assert!(written.iter().any(|c| c.contains("1e+16")), "{written:?}");
}
