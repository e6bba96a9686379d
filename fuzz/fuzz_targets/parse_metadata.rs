//! Fuzz target: see `metadata_conformance::fuzzing::parse_metadata`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    metadata_conformance::fuzzing::parse_metadata(data);
});
