//! The server's TLS identity: a real certificate (`--tls-cert`/`--tls-key`, PEM), or a
//! self-signed one made once and kept in the class database, so the pin that join links carry
//! (the SHA-256 of its DER) stays valid across restarts. rustls with the ring provider, as the
//! rest of labctl.

use super::secret::{hex, sha256};
use super::store::{Store, StoreError};
use crate::class::wire::PIN_PREFIX;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A certificate chain and its key; `pin` is set for a self-signed certificate.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub pin: Option<String>,
}

/// Why the server has no TLS identity or configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0}")]
    Generate(#[source] rcgen::Error),
    #[error("{0}")]
    Store(#[source] StoreError),
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: crate::readfile::ReadError,
    },
    #[error("{}: {source}", path.display())]
    Pem {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: no certificate in it", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{0}")]
    Setup(#[source] rustls::Error),
    #[error("the certificate and key do not go together: {0}")]
    Mismatch(#[source] rustls::Error),
}

const CERT_KEY: &str = "tls_cert_der";
const KEY_KEY: &str = "tls_key_der";

/// The pin of a certificate: `sha256:` and the lowercase hex SHA-256 of its DER.
pub fn pin(der: &[u8]) -> String {
    format!("{PIN_PREFIX}{}", hex(&sha256(der)))
}

/// The class's self-signed certificate, made on first use and stored.
pub fn self_signed(store: &Store) -> Result<Identity, TlsError> {
    let (cert, key) = match (store.meta(CERT_KEY), store.meta(KEY_KEY)) {
        (Ok(Some(c)), Ok(Some(k))) => (c, k),
        _ => {
            let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
            if let Some(h) = hostname() {
                names.push(h);
            }
            let made = rcgen::generate_simple_self_signed(names).map_err(TlsError::Generate)?;
            // Key first: a certificate is never stored without its key.
            let key = store
                .meta_or_insert(KEY_KEY, &made.signing_key.serialize_der())
                .map_err(TlsError::Store)?;
            let cert = store
                .meta_or_insert(CERT_KEY, made.cert.der())
                .map_err(TlsError::Store)?;
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
pub fn from_files(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let read = |p: &Path| {
        crate::readfile::read_text(p, 1024 * 1024).map_err(|source| TlsError::Read {
            path: p.to_owned(),
            source,
        })
    };
    let chain = CertificateDer::pem_slice_iter(read(cert)?.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: cert.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_owned(),
        });
    }
    let key_der =
        PrivateKeyDer::from_pem_slice(read(key)?.as_bytes()).map_err(|source| TlsError::Pem {
            path: key.to_owned(),
            source,
        })?;
    Ok(Identity {
        chain,
        key: key_der,
        pin: None,
    })
}

/// rustls's server configuration for `id` (ring provider, HTTP/1.1).
pub fn server_config(id: Identity) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_no_client_auth()
        .with_single_cert(id.chain, id.key)
        .map_err(TlsError::Mismatch)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// This machine's name, for the certificate and the server's address.
pub fn hostname() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let h = h.trim();
    (!h.is_empty() && h.len() < 254).then(|| h.to_owned())
}
