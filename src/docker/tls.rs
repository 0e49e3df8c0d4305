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
