#![no_main]
//! Fuzz target `csv_ohlc`: the check is `fuzz_checks::csv_ohlc` (shared with server/tests/fuzz_corpus.rs).

#[path = "../../server/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::csv_ohlc(data));
