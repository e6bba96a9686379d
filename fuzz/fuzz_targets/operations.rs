//! Fuzz target: operation sequences from both surfaces against the memory store and the
//! reference model; see `metadata_conformance::fuzzing::operations`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let store = std::sync::Arc::new(metadata_store_memory::MemoryStore::new());
    metadata_conformance::fuzzing::operations(store, data);
});
