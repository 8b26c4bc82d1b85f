//! The TLS a learner's labctl trusts the class server with. With a pin (a server that made its
//! own certificate), exactly the certificate whose SHA-256 the join link names is accepted: no
//! CA, no name check, but the handshake signature is still verified, so only the holder of that
//! certificate's key gets through. Without one, the system's roots, as for any HTTPS site.

use super::error::PushError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// `sha256:` and the lowercase hex SHA-256 of a certificate's DER: the form of a pin, made the
/// way the server makes it.
pub use crate::class::serve::tls::pin as fingerprint;

/// Accepts exactly the pinned certificate.
#[derive(Debug)]
pub struct PinnedCert {
    pin: String,
    provider: Arc<CryptoProvider>,
}

impl PinnedCert {
    pub fn new(pin: &str, provider: Arc<CryptoProvider>) -> PinnedCert {
        PinnedCert {
            pin: pin.to_owned(),
            provider,
        }
    }
}

/// The message a learner sees when the server shows another certificate (the server made a new
/// one, or something sits in between).
pub const MISMATCH: &str = "the class server's certificate is not the one pinned in the join link";

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = fingerprint(end_entity);
        // Both are public, but compare without an early exit anyway.
        let same = got.len() == self.pin.len()
            && got
                .bytes()
                .zip(self.pin.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "{MISMATCH} (it is {got}, the link pins {})",
                self.pin
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The client TLS configuration for a server: pinned, or the system's roots.
pub fn client_config(pin: Option<&str>) -> Result<rustls::ClientConfig, PushError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(PushError::Tls)?;
    let config = match pin {
        Some(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCert::new(pin, provider)))
            .with_no_client_auth(),
        None => {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(PushError::NoRoots);
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_the_sha256_of_the_der_in_lowercase_hex() {
        // SHA-256 of the empty string.
        assert_eq!(
            fingerprint(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(crate::class::wire::valid_pin(&fingerprint(b"cert")));
    }

    #[test]
    fn only_the_pinned_certificate_is_accepted() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cert = CertificateDer::from(b"the server's certificate".to_vec());
        let other = CertificateDer::from(b"another certificate".to_vec());
        let verifier = PinnedCert::new(&fingerprint(&cert), provider);
        let name = ServerName::try_from("class.example").unwrap();
        let now = UnixTime::now();
        assert!(
            verifier
                .verify_server_cert(&cert, &[], &name, &[], now)
                .is_ok()
        );
        let err = verifier
            .verify_server_cert(&other, &[], &name, &[], now)
            .unwrap_err()
            .to_string();
        assert!(err.contains(MISMATCH), "{err}");
        assert!(err.contains(&fingerprint(&other)), "{err}");
        // Signatures are checked with the provider's algorithms (a real handshake: the
        // integration tests).
        assert!(!verifier.supported_verify_schemes().is_empty());
    }
}
