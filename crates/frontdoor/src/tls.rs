//! HTTPS: the certificate chain and private key of `[http] tls_certificate_file` and
//! `tls_key_file` (PEM) served with rustls (the `ring` provider the rest of the build uses),
//! HTTP/1.1 only. The pair is read again on SIGHUP: a pair that cannot be read, does not parse
//! or does not match keeps the one being served, and the log says why. A handshake that does
//! not complete within `[http] header_read_timeout_seconds` closes the connection.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// The TLS side of the listener: the acceptor, and the files it reloads from.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
    current: Arc<Current>,
    provider: Arc<CryptoProvider>,
    certificate_file: PathBuf,
    key_file: PathBuf,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("certificate_file", &self.certificate_file)
            .field("key_file", &self.key_file)
            .finish()
    }
}

/// The pair being served; replaced whole by a reload.
struct Current(RwLock<Arc<CertifiedKey>>);

impl fmt::Debug for Current {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Current")
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.0
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

impl Tls {
    /// Read the pair; the error names the file and what is wrong with it.
    pub fn load(certificate_file: &Path, key_file: &Path) -> Result<Self, String> {
        let provider = Arc::new(ring::default_provider());
        let pair = read_pair(certificate_file, key_file, &provider)?;
        let current = Arc::new(Current(RwLock::new(Arc::new(pair))));
        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            current,
            provider,
            certificate_file: certificate_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
        })
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Read the files again and serve the new pair from the next handshake on; on an error
    /// the pair being served stays.
    pub fn reload(&self) -> Result<(), String> {
        let pair = read_pair(&self.certificate_file, &self.key_file, &self.provider)?;
        *self
            .current
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(pair);
        Ok(())
    }

    /// Reload on every SIGHUP until the task is aborted.
    #[cfg(unix)]
    pub(crate) fn reload_on_sighup(&self) -> Option<tokio::task::JoinHandle<()>> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP: the TLS certificate will not be reloaded");
                return None;
            }
        };
        let tls = self.clone();
        Some(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match tls.reload() {
                    Ok(()) => tracing::info!(
                        certificate_file = %tls.certificate_file.display(),
                        "SIGHUP: TLS certificate and key reloaded"
                    ),
                    Err(why) => tracing::warn!(
                        error = %why,
                        "SIGHUP: the new TLS certificate or key is not usable; still serving the previous pair"
                    ),
                }
            }
        }))
    }

    #[cfg(not(unix))]
    pub(crate) fn reload_on_sighup(&self) -> Option<tokio::task::JoinHandle<()>> {
        None
    }
}

/// The certificate chain and key of the two files, checked to belong together.
fn read_pair(
    certificate_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let pem = read(certificate_file)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "{} is not a PEM certificate chain: {e}",
                certificate_file.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            certificate_file.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key_file)?)
        .map_err(|e| format!("{} is not a PEM private key: {e}", key_file.display()))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        format!(
            "{} and {} are not a usable pair: {e}",
            certificate_file.display(),
            key_file.display()
        )
    })
}
