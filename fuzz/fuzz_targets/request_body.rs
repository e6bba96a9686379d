//! Fuzz target: see `metadata_conformance::fuzzing::request_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    metadata_conformance::fuzzing::request_body(data);
});
