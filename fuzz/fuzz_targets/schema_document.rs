//! Fuzz target: see `metadata_conformance::fuzzing::schema_document`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    metadata_conformance::fuzzing::schema_document(data);
});
