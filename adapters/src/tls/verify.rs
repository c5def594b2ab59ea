//! The server certificate verifier behind every [`TlsConnector`](super::TlsConnector): the
//! default verdict (platform roots, given roots, or none at all), then the application's
//! callback, if any, which may overrule it.

use super::connector::{Callback, ServerCertCheck};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Where the default verdict comes from.
pub(super) enum Trust {
    /// The platform's roots (and `extra`), read when the first certificate is checked: a
    /// connector costs nothing until it is used, and a machine without a CA bundle fails the
    /// connect, with rustls-platform-verifier's error, rather than the construction.
    Platform {
        extra: Vec<CertificateDer<'static>>,
        verifier: OnceLock<Result<Arc<dyn ServerCertVerifier>, rustls::Error>>,
    },
    /// A fixed set of roots: Mozilla's (webpki-roots) and added ones, or only added ones.
    Roots(Arc<WebPkiServerVerifier>),
    /// `danger_accept_any_certificate`: no certificate is checked (signatures still are).
    Any,
}

pub(super) struct Verifier {
    pub(super) provider: Arc<CryptoProvider>,
    pub(super) trust: Trust,
    pub(super) callback: Option<Arc<Callback>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trust = match self.trust {
            Trust::Platform { .. } => "platform roots",
            Trust::Roots(_) => "given roots",
            Trust::Any => "any certificate (dangerous)",
        };
        f.debug_struct("Verifier").field("trust", &trust).field("callback", &self.callback.is_some()).finish()
    }
}

impl Verifier {
    /// What the verifier would say without the callback.
    fn default_verdict(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let verifier: &dyn ServerCertVerifier = match &self.trust {
            Trust::Platform { extra, verifier } => verifier
                .get_or_init(|| platform_verifier(extra, &self.provider))
                .as_ref()
                .map_err(rustls::Error::clone)?
                .as_ref(),
            Trust::Roots(verifier) => verifier.as_ref(),
            Trust::Any => {
                tracing::warn!(
                    server = ?server_name,
                    "TLS certificate not verified: danger_accept_any_certificate is set"
                );
                return Ok(());
            }
        };
        verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now).map(|_| ())
    }
}

fn platform_verifier(
    extra: &[CertificateDer<'static>],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, rustls::Error> {
    let provider = Arc::clone(provider);
    let verifier = if extra.is_empty() {
        rustls_platform_verifier::Verifier::new(provider)?
    } else {
        #[cfg(not(target_os = "android"))]
        {
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra.iter().cloned(), provider)?
        }
        #[cfg(target_os = "android")]
        return Err(rustls::Error::General(
            "extra roots need only_added_roots on Android, whose platform verifier takes none".into(),
        ));
    };
    Ok(Arc::new(verifier))
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.default_verdict(end_entity, intermediates, server_name, ocsp_response, now);
        let Some(callback) = &self.callback else {
            return verdict.map(|()| ServerCertVerified::assertion());
        };
        let check = ServerCertCheck { end_entity, intermediates, server_name, verdict: &verdict };
        if callback(&check) {
            if let Err(error) = &verdict {
                tracing::debug!(server = ?server_name, %error, "TLS certificate accepted by the callback");
            }
            Ok(ServerCertVerified::assertion())
        } else {
            // The default verifier's reason, when it had one, says most about the refusal.
            Err(verdict
                .err()
                .unwrap_or(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)))
        }
    }

    // Whatever the verdict on the certificate, the server must prove it holds its key: the
    // signatures of the handshake are checked with the provider's algorithms, as rustls' own
    // verifiers check them.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
