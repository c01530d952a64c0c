//! Free space in the data directory, and what the store does about too little of it.
//!
//! sled 0.34 refuses every write after its first failed one until the database is reopened,
//! so the server does not wait for the disk to run out: below `--min-free-space` the store
//! stops taking writes first ([`super::Store::check_writable`]): the pipeline holds its batch
//! and stops reading trades (the ingest backs up, reconnects later and backfills from the last
//! stored id), uploads and rule saves answer 507, deletes still run. A reserve file of
//! [`RESERVE_BYTES`] is kept beside the database: a start on a full disk removes it so sled
//! can open (it writes on open) and starts read-only; it is written again once space returns.
//! If a write fails anyway (something else filled the disk between two probes), the database is
//! poisoned: the server re-executes itself in place once space is back ([`restart_in_place`]).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Size of the reserve file: room for sled to open (it allocates a 512 KiB segment) and
/// some writes after.
pub const RESERVE_BYTES: u64 = 2 << 20;
/// The reserve file's name in the data directory.
pub const RESERVE_FILE: &str = "reserve.bin";
/// `--min-free-space` default.
pub const DEFAULT_MIN_FREE: u64 = 64 << 20;

/// The store's view of its disk, updated by [`super::Store::probe_space`].
#[derive(Debug)]
pub struct Space {
    pub min_free: u64,
    /// Free bytes at the last probe (`u64::MAX` before the first).
    free: AtomicU64,
    /// Below `min_free` (or started on a full disk and not yet recovered).
    low: AtomicBool,
    /// The database was opened only after removing the reserve file.
    started_read_only: AtomicBool,
}

impl Space {
    pub fn new(min_free: u64) -> Self {
        Space {
            min_free,
            free: AtomicU64::new(u64::MAX),
            low: AtomicBool::new(false),
            started_read_only: AtomicBool::new(false),
        }
    }

    pub fn is_low(&self) -> bool {
        self.low.load(Ordering::Relaxed)
    }

    pub fn free(&self) -> Option<u64> {
        Some(self.free.load(Ordering::Relaxed)).filter(|&f| f != u64::MAX)
    }

    pub fn started_read_only(&self) -> bool {
        self.started_read_only.load(Ordering::Relaxed)
    }

    pub(super) fn mark_read_only_start(&self) {
        self.started_read_only.store(true, Ordering::Relaxed);
        self.low.store(true, Ordering::Relaxed);
    }

    /// Records a probe: low below `min_free`; once low, writable again only with the reserve
    /// back in place and `min_free` free beside it (no flapping at the edge).
    pub(super) fn record(&self, free: u64, reserve_present: bool) {
        self.free.store(free, Ordering::Relaxed);
        let low = if self.is_low() { !(reserve_present && free >= self.min_free) } else { free < self.min_free };
        self.low.store(low, Ordering::Relaxed);
        if !low {
            self.started_read_only.store(false, Ordering::Relaxed);
        }
    }

    /// Why writes are paused, for the log, `/api/health` and the status bar.
    pub fn low_message(&self) -> String {
        let free = self.free();
        let start = if self.started_read_only() {
            "started read-only on a full disk (the reserve file was given up so the database could open); "
        } else {
            ""
        };
        // Once low, writing resumes with the floor free *and* the reserve file written again.
        let floor = if self.started_read_only() || free.is_some_and(|f| f >= self.min_free) {
            format!(
                "{} (--min-free-space {} and the {} reserve file)",
                mib(self.min_free.saturating_add(RESERVE_BYTES)),
                mib(self.min_free),
                mib(RESERVE_BYTES)
            )
        } else {
            format!("--min-free-space {}", mib(self.min_free))
        };
        format!(
            "disk full: {start}{} free in the data directory, below {floor}: ingest paused, uploads and rule saves refused, deletes work; writing resumes by itself once space is free",
            free.map_or_else(|| "no".to_string(), mib)
        )
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// Bytes available to this (unprivileged-equivalent) process in the filesystem of `dir`.
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path holds a NUL byte"))?;
    // SAFETY: `path` is a valid NUL-terminated string and `stats` a properly sized out value.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64))
}

/// Whether the reserve file is there at full size.
pub fn reserve_present(dir: &Path) -> bool {
    std::fs::metadata(dir.join(RESERVE_FILE)).is_ok_and(|m| m.len() >= RESERVE_BYTES)
}

/// Writes the reserve file (real blocks, not a sparse file) if it is missing and `free`
/// leaves `min_free` beside it. Returns whether it is present afterwards.
pub fn ensure_reserve(dir: &Path, free: u64, min_free: u64) -> std::io::Result<bool> {
    if reserve_present(dir) {
        return Ok(true);
    }
    if free < min_free.saturating_add(RESERVE_BYTES) {
        return Ok(false);
    }
    use std::io::Write;
    let tmp = dir.join(format!("{RESERVE_FILE}.tmp"));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        let block = vec![0u8; 64 << 10];
        for _ in 0..RESERVE_BYTES / block.len() as u64 {
            file.write_all(&block)?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, dir.join(RESERVE_FILE))
    })();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err);
    }
    Ok(true)
}

/// Removes the reserve file; whether there was one.
pub fn release_reserve(dir: &Path) -> bool {
    std::fs::remove_file(dir.join(RESERVE_FILE)).is_ok()
}

/// Replaces this process with a fresh run of the same binary and arguments (same pid), the
/// only way to reopen a sled 0.34 database after a failed write. Returns only if `exec`
/// failed.
pub fn restart_in_place() -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| "pairdesk".into());
    tracing::warn!("space is free again: pairdesk restarts in place to reopen the database (sled takes no write after a failed one)");
    std::process::Command::new("/proc/self/exe").arg0(arg0).args(args).exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_space_has_hysteresis_and_needs_the_reserve_back() {
        let space = Space::new(100);
        space.record(150, true);
        assert!(!space.is_low());
        space.record(99, true);
        assert!(space.is_low());
        space.record(120, false);
        assert!(space.is_low(), "writable again only with the reserve in place");
        space.record(120, true);
        assert!(!space.is_low());
        assert!(Space::new(1).low_message().contains("--min-free-space"));
    }

    #[test]
    fn the_reserve_is_written_released_and_free_space_measured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let free = free_bytes(dir.path()).expect("statvfs");
        assert!(free > 0);
        assert!(!ensure_reserve(dir.path(), RESERVE_BYTES, 1).expect("too little room"));
        assert!(ensure_reserve(dir.path(), free, 0).expect("reserve"));
        assert!(reserve_present(dir.path()));
        assert!(release_reserve(dir.path()));
        assert!(!reserve_present(dir.path()));
    }
}
