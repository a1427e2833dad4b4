//! TLS as leadline's clients use it (mail servers, the database): rustls
//! with ring, one stack for the whole binary.

use std::sync::Arc;

/// The TLS client settings leadline uses everywhere (mail, the database):
/// rustls with ring, the public roots and the certificates in `ca_file`.
///
/// Fails when the CA file cannot be read.
pub fn client_config(
    ca_file: Option<&std::path::Path>,
) -> std::io::Result<tokio_rustls::rustls::ClientConfig> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| std::io::Error::other(format!("ca_file {}: {e}", path.display())))?;
        for cert in certs {
            let cert = cert
                .map_err(|e| std::io::Error::other(format!("ca_file {}: {e}", path.display())))?;
            roots
                .add(cert)
                .map_err(|e| std::io::Error::other(format!("ca_file {}: {e}", path.display())))?;
        }
    }
    Ok(
        tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}
