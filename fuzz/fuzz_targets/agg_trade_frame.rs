#![no_main]
//! Fuzz target `agg_trade_frame`: the check is `fuzz_checks::agg_trade_frame` (shared with server/tests/fuzz_corpus.rs).

#[path = "../../server/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::agg_trade_frame(data));
