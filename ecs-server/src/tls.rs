//! HTTPS: the server's certificate and key (PEM files), and serving the API over TLS
//! (rustls). Each connection's handshake runs in its own task, bounded in time, so a
//! client that stalls it holds up nobody else; at shutdown the server stops accepting
//! and waits for the connections it has.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig as RustlsConfig;
use tokio_rustls::rustls::crypto::ring;

use crate::Error;

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's certificate chain and private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The certificate, then any intermediates.
    pub certificate_chain: PathBuf,
    /// The certificate's private key (PKCS#8, PKCS#1 or SEC1). Its content is never
    /// logged.
    pub private_key: PathBuf,
}

impl TlsConfig {
    /// The certificate chain and key in these PEM files.
    pub fn new(certificate_chain: impl Into<PathBuf>, private_key: impl Into<PathBuf>) -> Self {
        Self {
            certificate_chain: certificate_chain.into(),
            private_key: private_key.into(),
        }
    }

    /// Reads the files into an acceptor; what is wrong with them is a configuration
    /// error that names the file.
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, Error> {
        let chain_path = self.certificate_chain.display();
        let chain = CertificateDer::pem_file_iter(&self.certificate_chain)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| Error::Config(format!("TLS certificate chain {chain_path}: {e}")))?;
        if chain.is_empty() {
            return Err(Error::Config(format!(
                "TLS certificate chain {chain_path}: no certificate in it"
            )));
        }
        let key = PrivateKeyDer::from_pem_file(&self.private_key).map_err(|e| {
            Error::Config(format!(
                "TLS private key {}: {e}",
                self.private_key.display()
            ))
        })?;
        let config = RustlsConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                Error::Config(format!(
                    "TLS certificate {chain_path} and key {}: {e}",
                    self.private_key.display()
                ))
            })?;
        let mut config = config;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// Serves `router` over TLS on `listener` until `shutdown` completes, then waits for
/// the connections in flight.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let graceful = GracefulShutdown::new();
    // Every connection's task, handshakes included: waited for before returning.
    let tasks = tokio_util::task::TaskTracker::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // A connection that failed as it was accepted (reset, out of file
                // descriptors): the next one may do better.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        tasks.spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Connections finish the request they are serving, then close; a handshake under
    // way ends within its timeout.
    graceful.shutdown().await;
    tasks.close();
    tasks.wait().await;
    Ok(())
}
