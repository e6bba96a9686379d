//! Fuzz target: see `metadata_conformance::fuzzing::claims`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    metadata_conformance::fuzzing::claims(data);
});
