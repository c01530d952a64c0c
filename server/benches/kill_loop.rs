//! Kill loop (issue 11): twenty SIGKILLs of `pairdesk serve` during ingest, uploads and rule
//! saves, the store checked after every restart and at the end (`tests/kill_loop_support`);
//! prints a report. Figures go to BENCHMARKS.md ("## Kill loop").
//!
//! ```text
//! cargo bench -p server --bench kill_loop                      # 20 kills, 1 000 trades/s/symbol
//! PAIRDESK_KILLS=5 PAIRDESK_KILL_RATE=200 cargo bench -p server --bench kill_loop
//! ```

#[path = "../tests/kill_loop_support/mod.rs"]
mod kill_loop_support;
#[path = "../tests/pipeline_support/mod.rs"]
mod pipeline_support;
#[path = "../tests/support/mod.rs"]
mod support;

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let config = kill_loop_support::Config {
        kills: env_count("PAIRDESK_KILLS", 20) as usize,
        rate: env_count("PAIRDESK_KILL_RATE", 1_000),
        seed: env_count("PAIRDESK_KILL_SEED", 7),
    };
    println!("kill loop: {} SIGKILLs, {} trades/s per symbol (3 generated, 2 ingested)", config.kills, config.rate);
    let started = std::time::Instant::now();
    let report = kill_loop_support::run(&config).await;
    println!(
        "{:>5} {:>8} {:>12} {:>9} {:>8} {:>6} {:>12}",
        "start", "up ms", "caught up ms", "ticks", "uploads", "rules", "unannounced"
    );
    for (i, c) in report.cycles.iter().enumerate() {
        println!(
            "{:>5} {:>8} {:>12} {:>9} {:>8} {:>6} {:>12}",
            i, c.up_ms, c.caught_up_ms, c.ticks, c.uploads_acked, c.rules_acked, c.unannounced_uploads
        );
    }
    let mut caught: Vec<u128> = report.cycles.iter().skip(1).map(|c| c.caught_up_ms).collect();
    caught.sort_unstable();
    let median = caught.get(caught.len() / 2).copied().unwrap_or(0);
    println!(
        "final: {:?} ticks stored (export, bars 1s/1m/5m checked); restart to caught up: median {median} ms, max {} ms; {:.0} s in all",
        report.final_ticks,
        caught.last().copied().unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    if report.violations.is_empty() {
        println!("consistent after every restart: 0 violations");
    } else {
        println!("{} VIOLATIONS:", report.violations.len());
        for v in &report.violations {
            println!("  {v}");
        }
        std::process::exit(1);
    }
}
