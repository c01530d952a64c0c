#![no_main]
//! Fuzz target `client_msg`: the check is `fuzz_checks::client_msg` (shared with server/tests/fuzz_corpus.rs).

#[path = "../../server/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::client_msg(data));
