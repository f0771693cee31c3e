//! TLS for SMTP: the trusted roots (the system's, plus a configured CA
//! file), the parameters of a `STARTTLS` upgrade, and the stream of an
//! implicit-TLS connection.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use lettre::transport::smtp::client::{AsyncTokioStream, Certificate, TlsParameters};
use llmspell_core::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// How the server's certificate is checked: the platform's verifier with
/// the system's roots, plus the certificates of a configured CA file.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsTrust {
    /// The PEM text of the configured CA file, if any.
    extra_pem: Option<Vec<u8>>,
}

impl TlsTrust {
    /// The system's roots, and those of `ca_file` when set.
    ///
    /// # Errors
    /// [`Error::External`] (service `filesystem`) when the file cannot be
    /// read; [`Error::InvalidInput`] (field `ca_file`) when it holds no
    /// certificate.
    pub(crate) fn load(ca_file: Option<&Path>) -> Result<Self> {
        let Some(path) = ca_file else {
            return Ok(Self::default());
        };
        let pem = std::fs::read(path).map_err(|e| Error::External {
            service: "filesystem".to_owned(),
            message: format!("cannot read `[email] ca_file` {}: {e}", path.display()),
            retryable: false,
            source: None,
        })?;
        let trust = Self {
            extra_pem: Some(pem),
        };
        if trust.extra_roots()?.is_empty() {
            return Err(Error::invalid_input(
                "ca_file",
                format!("{} holds no PEM certificate", path.display()),
            ));
        }
        Ok(trust)
    }

    fn extra_roots(&self) -> Result<Vec<CertificateDer<'static>>> {
        let Some(pem) = &self.extra_pem else {
            return Ok(Vec::new());
        };
        CertificateDer::pem_slice_iter(pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid_input("ca_file", format!("invalid PEM: {e}")))
    }

    /// The parameters of a `STARTTLS` upgrade for `host`.
    pub(crate) fn starttls_parameters(&self, host: &str) -> Result<TlsParameters> {
        let mut builder = TlsParameters::builder(host.to_owned());
        if let Some(pem) = &self.extra_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| Error::invalid_input("ca_file", format!("invalid PEM: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        builder.build_rustls().map_err(|e| tls_error(host, &e))
    }

    /// Opens TLS over `tcp` to `host` (implicit TLS), checking the server's
    /// certificate against `host`.
    pub(crate) async fn connect(&self, host: &str, tcp: TcpStream) -> Result<ImplicitTls> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
            self.extra_roots()?,
            provider.clone(),
        )
        .map_err(|e| tls_error(host, &e))?;
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(host, &e))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|e| tls_error(host, &e))?
            .to_owned();
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| tls_error(host, &e))?;
        Ok(ImplicitTls { stream })
    }
}

/// A TLS failure with the server (handshake, certificate).
pub(crate) fn tls_error(host: &str, e: &dyn std::fmt::Display) -> Error {
    Error::External {
        service: "smtp".to_owned(),
        message: format!("TLS with SMTP server `{host}` failed: {e}"),
        retryable: false,
        source: None,
    }
}

/// An implicit-TLS connection to an SMTP server, as lettre's connection
/// takes it.
#[derive(Debug)]
pub(crate) struct ImplicitTls {
    stream: TlsStream<TcpStream>,
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.get_ref().0.peer_addr()
    }
}
