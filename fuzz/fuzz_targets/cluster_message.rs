#![no_main]
//! Fuzz target `cluster_message`: the check is `fuzz_checks::cluster_message` (shared with server/tests/fuzz_corpus.rs).

#[path = "../../server/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::cluster_message(data));
