//! The server's TLS identity: a real certificate (`--tls-cert`/`--tls-key`, PEM), or a
//! self-signed one made once and kept in the class database, so the pin that join links carry
//! (the SHA-256 of its DER) stays valid across restarts. rustls with the ring provider, as the
//! rest of labctl.

use super::secret::{hex, sha256};
use super::store::Store;
use crate::class::wire::PIN_PREFIX;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;

/// A certificate chain and its key; `pin` is set for a self-signed certificate.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub pin: Option<String>,
}

const CERT_KEY: &str = "tls_cert_der";
const KEY_KEY: &str = "tls_key_der";

/// The pin of a certificate: `sha256:` and the lowercase hex SHA-256 of its DER.
pub fn pin(der: &[u8]) -> String {
    format!("{PIN_PREFIX}{}", hex(&sha256(der)))
}

/// The class's self-signed certificate, made on first use and stored.
pub fn self_signed(store: &Store) -> Result<Identity, String> {
    let (cert, key) = match (store.meta(CERT_KEY), store.meta(KEY_KEY)) {
        (Ok(Some(c)), Ok(Some(k))) => (c, k),
        _ => {
            let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
            if let Some(h) = hostname() {
                names.push(h);
            }
            let made = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
            // Key first: a certificate is never stored without its key.
            let key = store
                .meta_or_insert(KEY_KEY, &made.signing_key.serialize_der())
                .map_err(|e| e.to_string())?;
            let cert = store
                .meta_or_insert(CERT_KEY, made.cert.der())
                .map_err(|e| e.to_string())?;
            (cert, key)
        }
    };
    Ok(Identity {
        pin: Some(pin(&cert)),
        chain: vec![CertificateDer::from(cert)],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    })
}

/// A real certificate: the PEM chain and key files.
pub fn from_files(cert: &Path, key: &Path) -> Result<Identity, String> {
    let read = |p: &Path| {
        crate::readfile::read_text(p, 1024 * 1024).map_err(|e| format!("{}: {e}", p.display()))
    };
    let chain = CertificateDer::pem_slice_iter(read(cert)?.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let key_der = PrivateKeyDer::from_pem_slice(read(key)?.as_bytes())
        .map_err(|e| format!("{}: {e}", key.display()))?;
    Ok(Identity {
        chain,
        key: key_der,
        pin: None,
    })
}

/// rustls's server configuration for `id` (ring provider, HTTP/1.1).
pub fn server_config(id: Identity) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(id.chain, id.key)
        .map_err(|e| format!("the certificate and key do not go together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// This machine's name, for the certificate and the server's address.
pub fn hostname() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let h = h.trim();
    (!h.is_empty() && h.len() < 254).then(|| h.to_owned())
}
