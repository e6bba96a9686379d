//! Fuzz target: see `metadata_conformance::fuzzing::merge_patch`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    metadata_conformance::fuzzing::merge_patch(data);
});
