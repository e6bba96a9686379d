//! Fuzz target: see `metadata_conformance::fuzzing::wire_roundtrip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    metadata_conformance::fuzzing::wire_roundtrip(data);
});
