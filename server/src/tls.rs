//! TLS: rustls with the `ring` crypto provider, installed once per process before the first
//! `wss://` or `https://` connection (rustls refuses to guess when no provider is chosen).

/// Installs ring as the process-wide rustls provider; later calls do nothing.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
