#![no_main]
//! Fuzz target `mark_price_frame`: the check is `fuzz_checks::mark_price_frame` (shared with server/tests/fuzz_corpus.rs).

#[path = "../../server/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::mark_price_frame(data));
