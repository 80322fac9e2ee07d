//! Off-site backup copies: an S3-compatible bucket (AWS S3, Backblaze B2, Wasabi, MinIO, a
//! NAS running an S3 service, ...) reached through `object_store`, and age encryption with a
//! passphrase the owner keeps, so nothing readable ever leaves the Pi.
//!
//! The calls block. Backups run on blocking threads, and each [`Offsite`] drives its own small
//! runtime, so the async client never meets actix's single-threaded workers.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

pub use age::secrecy::{ExposeSecret, SecretString};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ObjectStore, ObjectStoreExt, RetryConfig, WriteMultipart};

/// Where off-site copies go.
#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    /// A folder inside the bucket, without slashes at either end ("" for the top).
    pub prefix: String,
    /// The service's address (`https://s3.eu-central-2.wasabisys.com`); `None` for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    /// How often one request is retried after a 5xx, a 429 or a dropped connection.
    pub retries: usize,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret never reaches a log line.
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Splits `s3://bucket/some/folder/name` into the bucket and the rest.
pub fn parse_s3_url(url: &str) -> Result<(String, String), OffsiteError> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| {
        OffsiteError::Config(format!(
            "'{url}' is not an S3 address: write it as s3://bucket or s3://bucket/folder"
        ))
    })?;
    let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(OffsiteError::Config(format!(
            "'{url}' names no bucket: write it as s3://bucket or s3://bucket/folder"
        )));
    }
    Ok((bucket.to_owned(), path.trim_matches('/').to_owned()))
}

#[derive(Debug, thiserror::Error)]
pub enum OffsiteError {
    #[error("{0}")]
    Config(String),
    /// The bucket's answer, put into words a person can act on.
    #[error("{0}")]
    Storage(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the passphrase does not open this backup: use the passphrase it was made with (PI_CRM_BACKUP_PASSPHRASE)"
    )]
    WrongPassphrase,
    #[error("this file is not an encrypted pi-crm backup: {0}")]
    NotEncrypted(String),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl Fn(std::io::Error) -> OffsiteError + 'a {
    move |source| OffsiteError::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

/// What the bucket said, with the step to take first.
fn storage_error(bucket: &str, e: object_store::Error) -> OffsiteError {
    let detail = e.to_string();
    let hint = if matches!(e, object_store::Error::NotFound { .. }) {
        "it is not in the bucket"
    } else if detail.contains("NoSuchBucket") {
        "the bucket does not exist: create it, or correct the bucket name"
    } else if [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "403",
    ]
    .iter()
    .any(|s| detail.contains(s))
    {
        "the bucket refused the access key: check the key id, the secret and the key's permissions"
    } else if ["error sending request", "connect", "dns", "timed out"]
        .iter()
        .any(|s| detail.contains(s))
    {
        "the storage service could not be reached: check the network and the endpoint address"
    } else {
        "the storage service refused the request"
    };
    OffsiteError::Storage(format!("S3 bucket {bucket}: {hint} ({detail})"))
}

/// One object in the bucket's backup folder.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteFile {
    /// The name inside the folder.
    pub name: String,
    pub size: u64,
    pub modified: DateTime<Utc>,
}

/// A connection to the backup folder of one bucket.
pub struct Offsite {
    store: AmazonS3,
    bucket: String,
    prefix: String,
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Offsite {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which tokio forbids inside async code; this never does.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Uploads go up in parts of this size, so memory stays flat however large the archive.
const PART_SIZE: usize = 8 * 1024 * 1024;

impl Offsite {
    pub fn connect(config: &S3Config) -> Result<Self, OffsiteError> {
        // HTTPS through rustls with ring, the one TLS stack; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(config.secret_access_key.expose_secret())
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(500),
                    max_backoff: Duration::from_secs(30),
                    base: 2.0,
                },
                max_retries: config.retries,
                retry_timeout: Duration::from_secs(5 * 60),
            });
        if let Some(endpoint) = &config.endpoint {
            // Most S3-compatible services (and every local one) want the bucket in the path.
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder
            .build()
            .map_err(|e| OffsiteError::Config(format!("the S3 settings are not usable: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| OffsiteError::Config(format!("cannot start the S3 client: {e}")))?;
        Ok(Self {
            store,
            bucket: config.bucket.clone(),
            prefix: config.prefix.trim_matches('/').to_owned(),
            runtime: Some(runtime),
        })
    }

    /// Runs one request to the end. Callers inside a runtime (the CLI, a web handler's blocking
    /// thread) get a thread of their own, because a runtime cannot block inside another.
    fn run<T: Send>(&self, work: impl std::future::Future<Output = T> + Send) -> T {
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(|| runtime.block_on(work))
                    .join()
                    .expect("the S3 request thread panicked")
            })
        } else {
            runtime.block_on(work)
        }
    }

    fn path(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    /// `s3://bucket/prefix/name`, as shown to people and accepted by `pi-crm restore`.
    pub fn url(&self, name: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.path(name))
    }

    /// Uploads a local file as `name`, in parts; a failed upload is aborted, so no partial
    /// object is left to look like a backup.
    pub fn upload(&self, local: &Path, name: &str) -> Result<(), OffsiteError> {
        let mut file = File::open(local).map_err(io("cannot open", local))?;
        let path = self.path(name);
        self.run(async {
            let upload = self
                .store
                .put_multipart(&path)
                .await
                .map_err(|e| storage_error(&self.bucket, e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = match file.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(io("cannot read", local)(e));
                    }
                };
                if n == 0 {
                    break;
                }
                if let Err(e) = writer.wait_for_capacity(2).await {
                    let _ = writer.abort().await;
                    return Err(storage_error(&self.bucket, e));
                }
                writer.write(&buf[..n]);
            }
            writer
                .finish()
                .await
                .map(|_| ())
                .map_err(|e| storage_error(&self.bucket, e))
        })
    }

    /// Downloads `name` into a local file, piece by piece.
    pub fn download(&self, name: &str, local: &Path) -> Result<(), OffsiteError> {
        let path = self.path(name);
        let mut out = File::create(local).map_err(io("cannot create", local))?;
        self.run(async {
            let got = self
                .store
                .get(&path)
                .await
                .map_err(|e| storage_error(&self.bucket, e))?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| storage_error(&self.bucket, e))?;
                out.write_all(&chunk).map_err(io("cannot write", local))?;
            }
            Ok::<_, OffsiteError>(())
        })?;
        out.sync_all().map_err(io("cannot sync", local))
    }

    /// The files in the backup folder (not in folders below it).
    pub fn list(&self) -> Result<Vec<RemoteFile>, OffsiteError> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        self.run(async {
            let listed = self
                .store
                .list_with_delimiter(prefix.as_ref())
                .await
                .map_err(|e| storage_error(&self.bucket, e))?;
            Ok(listed
                .objects
                .into_iter()
                .filter_map(|o| {
                    Some(RemoteFile {
                        name: o.location.filename()?.to_owned(),
                        size: o.size,
                        modified: o.last_modified,
                    })
                })
                .collect())
        })
    }

    pub fn delete(&self, name: &str) -> Result<(), OffsiteError> {
        let path = self.path(name);
        self.run(self.store.delete(&path))
            .map_err(|e| storage_error(&self.bucket, e))
    }
}

/// Encrypts `src` into `dst` with the passphrase (age, scrypt). Streams: memory stays flat.
pub fn encrypt_file(src: &Path, dst: &Path, passphrase: &SecretString) -> Result<(), OffsiteError> {
    let mut input = BufReader::new(File::open(src).map_err(io("cannot open", src))?);
    let output = File::create(dst).map_err(io("cannot create", dst))?;
    let encryptor = age::Encryptor::with_user_passphrase(passphrase.clone());
    let mut writer = encryptor
        .wrap_output(std::io::BufWriter::new(output))
        .map_err(io("cannot write", dst))?;
    std::io::copy(&mut input, &mut writer).map_err(io("cannot encrypt into", dst))?;
    let output = writer
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(io("cannot finish", dst))?;
    output.sync_all().map_err(io("cannot sync", dst))
}

/// Decrypts an age file made by [`encrypt_file`] into `dst`.
pub fn decrypt_file(src: &Path, dst: &Path, passphrase: &SecretString) -> Result<(), OffsiteError> {
    let input = BufReader::new(File::open(src).map_err(io("cannot open", src))?);
    let decryptor = age::Decryptor::new_buffered(input)
        .map_err(|e| OffsiteError::NotEncrypted(e.to_string()))?;
    if !decryptor.is_scrypt() {
        return Err(OffsiteError::NotEncrypted(
            "it was encrypted to a key, not with a passphrase".into(),
        ));
    }
    let mut identity = age::scrypt::Identity::new(passphrase.clone());
    // A backup made on a fast machine must still open on a slow Pi, and the other way round.
    identity.set_max_work_factor(24);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                OffsiteError::WrongPassphrase
            }
            other => OffsiteError::NotEncrypted(other.to_string()),
        })?;
    let mut out = File::create(dst).map_err(io("cannot create", dst))?;
    if let Err(e) = std::io::copy(&mut reader, &mut out) {
        let _ = std::fs::remove_file(dst);
        return Err(OffsiteError::NotEncrypted(format!(
            "it is damaged or cut short ({e})"
        )));
    }
    out.sync_all().map_err(io("cannot sync", dst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_split_into_bucket_and_folder() {
        assert_eq!(
            parse_s3_url("s3://family-backups/pi-crm/").unwrap(),
            ("family-backups".into(), "pi-crm".into())
        );
        assert_eq!(parse_s3_url("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(parse_s3_url("https://b").is_err());
        assert!(parse_s3_url("s3:///x").is_err());
    }

    #[test]
    fn encrypted_files_open_with_the_passphrase_only() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        let sealed = dir.path().join("sealed.age");
        let opened = dir.path().join("opened");
        let content: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        std::fs::write(&plain, &content).unwrap();
        let good = SecretString::from("correct horse battery staple".to_owned());
        encrypt_file(&plain, &sealed, &good).unwrap();
        let sealed_bytes = std::fs::read(&sealed).unwrap();
        assert!(sealed_bytes.starts_with(b"age-encryption.org/v1"));
        assert!(
            !sealed_bytes.windows(16).any(|w| w == &content[4000..4016]),
            "nothing of the plain text shows"
        );
        let bad = SecretString::from("wrong".to_owned());
        assert!(matches!(
            decrypt_file(&sealed, &opened, &bad),
            Err(OffsiteError::WrongPassphrase)
        ));
        decrypt_file(&sealed, &opened, &good).unwrap();
        assert_eq!(std::fs::read(&opened).unwrap(), content);
        assert!(matches!(
            decrypt_file(&plain, &opened, &good),
            Err(OffsiteError::NotEncrypted(_))
        ));
    }
}
