//! Client certificates for a tcp engine that speaks TLS: `DOCKER_TLS_VERIFY` with
//! `DOCKER_CERT_PATH`, or a context's `contexts/tls/<hash>/docker/`.

use std::path::{Path, PathBuf};

/// The CA that signed the engine's certificate, and our client certificate and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// `ca.pem`, `cert.pem` and `key.pem` in `dir`, all three (the engine's certificate is always
    /// verified, and a client certificate is always presented); the error names what is missing.
    pub fn in_dir(dir: &Path) -> Result<TlsFiles, String> {
        let [ca, cert, key] = ["ca.pem", "cert.pem", "key.pem"].map(|f| dir.join(f));
        let missing: Vec<String> = [&ca, &cert, &key]
            .iter()
            .filter(|p| !p.is_file())
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        if missing.is_empty() {
            Ok(TlsFiles { ca, cert, key })
        } else {
            Err(format!(
                "{} lacks {}: gpudock needs ca.pem, cert.pem and key.pem",
                dir.display(),
                missing.join(", ")
            ))
        }
    }
}

/// Why the TLS settings cannot be used; the text names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} holds no usable {what}")]
    Empty { path: String, what: &'static str },
    #[error("{0}")]
    Rejected(String),
}

impl TlsFiles {
    /// A rustls client that trusts `ca.pem` and nothing else, as the docker CLI does with
    /// `--tlsverify`: never the system roots, `SSL_CERT_FILE` or `SSL_CERT_DIR`. It presents
    /// `cert.pem` with `key.pem`.
    pub fn client_config(&self) -> Result<std::sync::Arc<rustls::ClientConfig>, TlsError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let read = |p: &Path| {
            std::fs::read(p)
                .map_err(|e| TlsError::Read { path: p.display().to_string(), reason: e.to_string() })
        };
        let certs = |p: &Path| -> Result<Vec<CertificateDer<'static>>, TlsError> {
            let pem = read(p)?;
            let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok).collect();
            if certs.is_empty() {
                return Err(TlsError::Empty { path: p.display().to_string(), what: "certificate" });
            }
            Ok(certs)
        };
        let mut roots = rustls::RootCertStore::empty();
        let (_, ignored) = roots.add_parsable_certificates(certs(&self.ca)?);
        if roots.is_empty() {
            return Err(TlsError::Empty { path: self.ca.display().to_string(), what: "CA certificate" });
        }
        if ignored > 0 {
            tracing::warn!(ca = %self.ca.display(), ignored, "CA certificates rustls cannot use");
        }
        let key = PrivateKeyDer::from_pem_slice(&read(&self.key)?)
            .map_err(|_| TlsError::Empty { path: self.key.display().to_string(), what: "private key" })?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rejected(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs(&self.cert)?, key)
            .map_err(|e| TlsError::Rejected(format!("{}: {e}", self.cert.display())))?;
        Ok(std::sync::Arc::new(config))
    }
}

/// The name the engine's certificate must carry: the host of `tcp://host:port`.
pub fn server_name(addr: &str) -> Result<rustls::pki_types::ServerName<'static>, String> {
    let host = match addr.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => addr.rsplit_once(':').map_or(addr, |(h, _)| h),
    };
    rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| format!("{host}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_files_or_the_missing_ones_named() {
        let dir = std::env::temp_dir().join(format!("gpudock-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("ca.pem"), "x").unwrap_or_else(|e| panic!("{e}"));
        let err = TlsFiles::in_dir(&dir).err().unwrap_or_default();
        assert!(err.contains("lacks cert.pem, key.pem"), "{err}");
        for f in ["cert.pem", "key.pem"] {
            std::fs::write(dir.join(f), "x").unwrap_or_else(|e| panic!("{e}"));
        }
        let files = TlsFiles::in_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(files.key, dir.join("key.pem"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
