//! The installation secret: one random key, kept outside the database, from which the keys
//! that sign (CSRF tokens, session cookies) and encrypt (TOTP secrets, later provider
//! credentials) are derived. Also the small hashing and token helpers every layer shares.
//!
//! The key lives in `DATA_DIR/secret.key` (created with mode 0600) or in `PI_CRM_SECRET_KEY`.
//! Losing it makes encrypted values unreadable, so backups must include it.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::AppError;

pub const KEY_FILE: &str = "secret.key";

type HmacSha256 = Hmac<Sha256>;

pub struct Secrets {
    master: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    pub fn load_or_create(data_dir: &Path, from_env: Option<&str>) -> Result<Self, AppError> {
        if let Some(encoded) = from_env.filter(|s| !s.trim().is_empty()) {
            return Self::decode(encoded.trim()).ok_or_else(|| {
                AppError::Internal(
                    "PI_CRM_SECRET_KEY must be 32 random bytes in base64 (try: openssl rand -base64 32)"
                        .into(),
                )
            });
        }
        std::fs::create_dir_all(data_dir).map_err(|e| {
            AppError::Internal(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::decode(text.trim()).ok_or_else(|| {
                AppError::Internal(format!(
                    "{} is damaged: it must hold 32 bytes in base64. Restore it from a backup.",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut master = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut master);
                write_private(&path, STANDARD.encode(master).as_bytes()).map_err(|e| {
                    AppError::Internal(format!("cannot write {}: {e}", path.display()))
                })?;
                Ok(Self { master })
            }
            Err(e) => Err(AppError::Internal(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// A fixed key, for tests and tools that need no persistence.
    pub fn from_bytes(master: [u8; 32]) -> Self {
        Self { master }
    }

    fn decode(encoded: &str) -> Option<Self> {
        let bytes = STANDARD.decode(encoded).ok()?;
        let master: [u8; 32] = bytes.try_into().ok()?;
        Some(Self { master })
    }

    /// A 32-byte key for one purpose, so no two uses share key material.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.master).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// An HMAC of `data` under the key for `purpose`, base64url.
    pub fn sign(&self, purpose: &str, data: &[u8]) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.derive(purpose))
            .expect("HMAC takes any key length");
        mac.update(data);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Checks a signature from [`Secrets::sign`] in constant time.
    pub fn verify(&self, purpose: &str, data: &[u8], signature: &str) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.derive(purpose))
            .expect("HMAC takes any key length");
        mac.update(data);
        mac.verify_slice(&sig).is_ok()
    }

    /// Encrypts with ChaCha20-Poly1305 under a random nonce; returns base64 of nonce+ciphertext.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let cipher = ChaCha20Poly1305::new((&self.derive("encrypt-v1")).into());
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .expect("encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        STANDARD.encode(out)
    }

    pub fn decrypt(&self, encoded: &str) -> Result<Vec<u8>, AppError> {
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| AppError::Internal("an encrypted value is damaged".into()))?;
        if bytes.len() < 12 {
            return Err(AppError::Internal("an encrypted value is damaged".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let cipher = ChaCha20Poly1305::new((&self.derive("encrypt-v1")).into());
        cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| {
                AppError::Internal(
                "an encrypted value cannot be read with this secret key (was secret.key replaced?)"
                    .into(),
            )
            })
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// `bytes` random bytes as base64url: for session tokens, API keys, CSRF nonces.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 as hex. Enough for high-entropy tokens (session ids, API keys), which cannot be
/// guessed; passwords use argon2id instead.
pub fn sha256_hex(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secrets::load_or_create(dir.path(), None).unwrap();
        let b = Secrets::load_or_create(dir.path(), None).unwrap();
        assert_eq!(a.derive("x"), b.derive("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn signatures_and_encryption_round_trip() {
        let s = Secrets::from_bytes([7; 32]);
        let sig = s.sign("csrf", b"nonce");
        assert!(s.verify("csrf", b"nonce", &sig));
        assert!(!s.verify("csrf", b"other", &sig));
        assert!(!s.verify("session", b"nonce", &sig));
        let sealed = s.encrypt(b"JBSWY3DPEHPK3PXP");
        assert_ne!(sealed, "JBSWY3DPEHPK3PXP");
        assert_eq!(s.decrypt(&sealed).unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(Secrets::from_bytes([8; 32]).decrypt(&sealed).is_err());
    }

    #[test]
    fn env_key_must_be_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Secrets::load_or_create(dir.path(), Some("c2hvcnQ=")).is_err());
        let good = STANDARD.encode([1u8; 32]);
        assert!(Secrets::load_or_create(dir.path(), Some(&good)).is_ok());
        assert!(!dir.path().join(KEY_FILE).exists());
    }
}
