//! The kill loop, short: three SIGKILLs of `pairdesk serve` during ingest, uploads and rule
//! saves; after each restart and at the end the store is consistent (see
//! `kill_loop_support`). `cargo bench -p server --bench kill_loop` runs twenty.

mod kill_loop_support;
mod pipeline_support;
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sigkills_during_ingest_uploads_and_rule_saves_leave_a_consistent_store() {
    let report = kill_loop_support::run(&kill_loop_support::Config { kills: 3, rate: 500, seed: 11 }).await;
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    assert_eq!(report.cycles.len(), 4);
    let last = report.cycles.last().expect("cycles");
    assert!(
        last.uploads_acked > 0 && last.rules_acked > 0,
        "the workload ran: {} uploads, {} rules",
        last.uploads_acked,
        last.rules_acked
    );
    for symbol in kill_loop_support::SYMBOLS {
        assert!(report.final_ticks[symbol] > 500, "{symbol}: {} ticks stored", report.final_ticks[symbol]);
    }
}

#[test]
fn the_tick_check_sees_a_gap_a_duplicate_and_a_stranger() {
    let truth = [3, 4, 5, 6, 7];
    assert_eq!(kill_loop_support::gapless("X", &[4, 5, 6], &truth), None);
    assert_eq!(kill_loop_support::gapless("X", &[], &truth), None);
    for bad in [&[4, 6, 7][..], &[4, 5, 5, 6], &[9], &[6, 7, 8]] {
        assert!(kill_loop_support::gapless("X", bad, &truth).is_some(), "{bad:?} passed");
    }
}
