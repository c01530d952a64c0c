//! The committed fuzz corpus as regular tests: every file in `fuzz/corpus/<target>/` goes
//! through the same check the fuzz target runs (`fuzz_checks`), on stable, in
//! `cargo test --workspace`. A crash the fuzzer once found stays a test here once its input
//! is in the corpus.

mod fuzz_checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_passes_its_targets_checks() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, check) in fuzz_checks::TARGETS {
        let inputs = files(&corpus_root().join(name));
        assert!(inputs.len() >= 3, "fuzz/corpus/{name} has {} seeds; commit good and bad examples", inputs.len());
        for path in inputs {
            let data = std::fs::read(&path).expect("read corpus file");
            total += 1;
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {message}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {total} corpus inputs fail:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_corpus_directory_and_fuzz_target_has_a_check() {
    let names: Vec<&str> = fuzz_checks::TARGETS.iter().map(|(name, _)| *name).collect();
    let root = corpus_root();
    for entry in std::fs::read_dir(&root).expect("fuzz/corpus") {
        let dir = entry.expect("entry").file_name().into_string().expect("UTF-8 name");
        assert!(names.contains(&dir.as_str()), "fuzz/corpus/{dir} has no check in fuzz_checks::TARGETS");
    }
    let targets = root.join("../fuzz_targets");
    for name in &names {
        assert!(targets.join(format!("{name}.rs")).is_file(), "no fuzz/fuzz_targets/{name}.rs");
    }
    assert_eq!(files(&targets).len(), names.len(), "fuzz/fuzz_targets has a target without a check");
}
