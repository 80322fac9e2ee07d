//! HTTPS: a certificate from files (Let's Encrypt through certbot), or a self-signed one made
//! on first start for use inside the home network. rustls with ring, the one TLS stack.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// Made once and kept in `DATA_DIR/tls/`; valid for these names and addresses.
    SelfSigned {
        names: Vec<String>,
    },
}

/// The ring provider, installed once for the whole process.
pub fn install_crypto() {
    // Already installed (by a test, or a second server in the process) is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn load(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate", cert.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "cannot read the private key {} (PEM expected)",
            key.display()
        )
    })?;
    install_crypto();
    rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and the key do not belong together")
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// The server's TLS configuration; a self-signed certificate is made on first use.
pub fn server_config(source: &TlsSource, data_dir: &Path) -> anyhow::Result<rustls::ServerConfig> {
    match source {
        TlsSource::Files { cert, key } => load(cert, key),
        TlsSource::SelfSigned { names } => {
            let dir = data_dir.join("tls");
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert.exists() || !key.exists() {
                std::fs::create_dir_all(&dir)?;
                let made = rcgen::generate_simple_self_signed(names.clone())
                    .context("cannot make a certificate")?;
                std::fs::write(&cert, made.cert.pem())
                    .with_context(|| format!("cannot write {}", cert.display()))?;
                write_private(&key, &made.signing_key.serialize_pem())?;
                tracing::info!(path = %cert.display(), "made a self-signed certificate");
            }
            load(&cert, &key)
        }
    }
}
