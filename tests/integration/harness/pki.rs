//! Certificates and keys generated at run time (rcgen, ECDSA P-256), so nothing secret is
//! committed and nothing depends on the clock of the machine that built the repo:
//!
//! - a CA per control plane, and the API server's serving certificate signed by it (SANs
//!   `127.0.0.1`, `localhost`, `kubernetes.default.svc`, ...) — its PEM is what kubeconfigs carry as
//!   `certificate-authority-data`;
//! - the service-account signing key pair (`--service-account-signing-key-file` / `-key-file`);
//! - a serving certificate for the sidecar-injector webhook the test process itself serves.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A CA that can sign leaf certificates.
pub struct Ca {
    /// PEM of the CA certificate (what clients trust).
    pub cert_pem: String,
    params: CertificateParams,
    key: KeyPair,
}

/// A leaf certificate and its private key, PEM and DER.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

/// The service-account token signing key pair.
pub struct SigningKey {
    /// PKCS#8 private key (`--service-account-signing-key-file`).
    pub private_pem: String,
    /// SubjectPublicKeyInfo public key (`--service-account-key-file`).
    pub public_pem: String,
}

impl Ca {
    /// A fresh CA with the given common name.
    pub fn new(common_name: &str) -> Ca {
        let key = KeyPair::generate().expect("generate CA key (rcgen/ring)");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-sign CA certificate");
        Ca {
            cert_pem: cert.pem(),
            params,
            key,
        }
    }

    /// A server certificate for `sans` (IP addresses become IP SANs, the rest DNS SANs).
    pub fn server_cert(&self, common_name: &str, sans: &[&str]) -> Leaf {
        let key = KeyPair::generate().expect("generate serving key (rcgen/ring)");
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).expect("serving certificate SANs are valid");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params
            .signed_by(&key, &issuer)
            .expect("sign serving certificate");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }
}

impl SigningKey {
    /// A fresh ECDSA P-256 key pair (the API server accepts ES256 service-account keys).
    pub fn new() -> SigningKey {
        let key = KeyPair::generate().expect("generate service-account key (rcgen/ring)");
        SigningKey {
            private_pem: key.serialize_pem(),
            public_pem: key.public_key_pem(),
        }
    }
}
