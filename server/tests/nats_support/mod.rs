//! Where the cluster tests and benches find `nats-server` (`scripts/setup.sh --test` installs
//! Debian's package).
#![allow(dead_code)]

/// `$NATS_SERVER`, else `nats-server` on PATH, else Debian's `/usr/sbin/nats-server` (a PATH
/// without sbin still finds it).
pub fn nats_server_binary() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("nats-server")).find(|b| b.is_file()))
        .unwrap_or_default();
    on_path.unwrap_or_else(|| "/usr/sbin/nats-server".into())
}
