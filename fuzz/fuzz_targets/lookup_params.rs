//! Fuzz target: see `metadata_conformance::fuzzing::lookup_params`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    metadata_conformance::fuzzing::lookup_params(data);
});
