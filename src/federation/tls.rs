//! Mutual TLS with pinned instance IDs (rustls). The client accepts exactly the server whose
//! certificate hashes to the pinned ID; the server asks every client for a certificate, checks
//! that the client holds its key (the handshake signature), and leaves the decision to the
//! endpoint: a pinned partner is served, a holder of an invitation secret may accept it,
//! anyone else gets the answer an unknown partnership gets.

use super::identity::{Identity, InstanceId};
use crate::error::{Error, Result};
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DistinguishedName, SignatureScheme};
use std::sync::Arc;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn tls_err(e: impl std::fmt::Display) -> Error {
    Error::Io(format!("TLS setup failed: {e}"))
}

fn key_of(id: &Identity) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone()))
}

/// Server side: every client must present a certificate and prove its key.
pub fn server_config(id: &Identity) -> Result<rustls::ServerConfig> {
    let p = provider();
    let verifier = Arc::new(AnyClientKey {
        provider: p.clone(),
    });
    let mut cfg = rustls::ServerConfig::builder_with_provider(p)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(id.cert_der.clone())], key_of(id))
        .map_err(tls_err)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Client side: presents our certificate; accepts only the server with the pinned ID.
pub fn client_config(id: &Identity, pinned: InstanceId) -> Result<rustls::ClientConfig> {
    let p = provider();
    let verifier = Arc::new(PinnedServer {
        pinned,
        provider: p.clone(),
    });
    let mut cfg = rustls::ClientConfig::builder_with_provider(p)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![CertificateDer::from(id.cert_der.clone())], key_of(id))
        .map_err(tls_err)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// The name sent in SNI; never checked (the pinned ID is).
pub fn server_name() -> ServerName<'static> {
    ServerName::try_from("peer.partnermap.invalid").expect("valid DNS name")
}

/// The signature checks both verifiers share: the crypto provider's own algorithms (only the
/// certificate itself is checked differently, against the pinned ID).
macro_rules! signatures_by_provider {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
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
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
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
    };
}

#[derive(Debug)]
struct PinnedServer {
    pinned: InstanceId,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match InstanceId::of_cert(end_entity) {
            Ok(id) if id == self.pinned => Ok(ServerCertVerified::assertion()),
            _ => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
        }
    }
    signatures_by_provider!();
}

#[derive(Debug)]
struct AnyClientKey {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientKey {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        // Parsable is all we ask here; the endpoint checks the ID against its pins.
        InstanceId::of_cert(end_entity)
            .map(|_| ClientCertVerified::assertion())
            .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))
    }
    signatures_by_provider!();
    fn client_auth_mandatory(&self) -> bool {
        true
    }
}
