#![no_main]
//! Fuzz target `view_query`: the check is `fuzz_checks::view_query` (shared with server/tests/fuzz_corpus.rs).

#[path = "../../server/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::view_query(data));
