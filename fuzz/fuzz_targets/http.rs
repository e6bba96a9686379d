//! Fuzz target: one arbitrary request to the HTTP routers in process; see
//! `crates/metadata-http/tests/http_fuzz/case.rs` for the input's layout and what must hold.
#![no_main]

#[path = "../../crates/metadata-http/tests/http_fuzz/case.rs"]
mod case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    case::run(data);
});
