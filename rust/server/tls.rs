//! TLS with rustls (tokio-rustls), set up from uvicorn's options: the certificate chain and key
//! (PEM), client certificates checked against `--ssl-ca-certs` when `--ssl-cert-reqs` asks for
//! them (1: optional, 2: required), and ALPN offering `h2` and `http/1.1` as `--http` allows.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::config::HttpVersions;

/// What the Python side read from uvicorn's options.
pub struct TlsFiles {
    /// `--ssl-certfile`'s contents: the certificate chain, leaf first.
    pub chain_pem: Vec<u8>,
    /// The private key (from `--ssl-keyfile`, or the certificate file), decrypted.
    pub key_pem: Vec<u8>,
    /// `--ssl-ca-certs`'s contents, when given.
    pub ca_pem: Option<Vec<u8>>,
    /// `--ssl-cert-reqs`: 0 none, 1 optional, 2 required (Python's `ssl.CERT_*`).
    pub cert_reqs: u8,
}

/// The acceptor for every connection, or what is wrong with the files, worded for the user.
pub fn acceptor(files: &TlsFiles, http: HttpVersions) -> Result<TlsAcceptor, String> {
    let chain = CertificateDer::pem_slice_iter(&files.chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot read the certificate file: {e}"))?;
    if chain.is_empty() {
        return Err("the certificate file holds no PEM certificate".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(&files.key_pem)
        .map_err(|e| format!("cannot read the private key: {e}"))?;
    // ring: classical key exchange only (rustls marks it deprecated for lacking the post-quantum
    // hybrid); the aws-lc-rs provider that has it needs a C build (cmake) this project avoids.
    #[allow(deprecated)]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let builder = match files.cert_reqs {
        0 => builder.with_no_client_auth(),
        1 | 2 => {
            let Some(ca_pem) = &files.ca_pem else {
                return Err(
                    "--ssl-cert-reqs asks for client certificates: --ssl-ca-certs must name the \
                     certificates that sign them"
                        .to_owned(),
                );
            };
            let mut roots = RootCertStore::empty();
            for certificate in CertificateDer::pem_slice_iter(ca_pem) {
                let certificate =
                    certificate.map_err(|e| format!("cannot read --ssl-ca-certs: {e}"))?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("a certificate in --ssl-ca-certs is unusable: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match files.cert_reqs {
                1 => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| format!("client certificate checks cannot be set up: {e}"))?,
            )
        }
        other => return Err(format!("--ssl-cert-reqs must be 0, 1 or 2, not {other}")),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not make a usable pair: {e}"))?;
    config.alpn_protocols = match http {
        HttpVersions::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        HttpVersions::Http1 => vec![b"http/1.1".to_vec()],
        HttpVersions::Http2 => vec![b"h2".to_vec()],
    };
    Ok(TlsAcceptor::from(Arc::new(config)))
}
