//! Reading a multipart upload: the `file` part streamed to disk in the imports folder (never
//! whole in memory), the other parts as short text.

use std::io::Write;
use std::path::PathBuf;

use actix_multipart::Multipart;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

/// Text parts are settings (a mapping, a policy): a megabyte is plenty.
const MAX_TEXT_PART: usize = 1024 * 1024;

pub struct Upload {
    /// The file's name as sent, and where it now is.
    pub file: Option<(String, PathBuf)>,
    pub fields: Vec<(String, String)>,
}

impl Upload {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Taken files were moved away; anything left is an upload nobody used.
        if let Some((_, path)) = &self.file {
            let _ = std::fs::remove_file(path);
        }
    }
}

pub enum UploadError {
    TooLarge(String),
    Bad(String),
    Internal(String),
}

fn too_large(limit: u64) -> UploadError {
    UploadError::TooLarge(format!(
        "The file is larger than {} MB, the most pi-crm takes at once. Split it into smaller files.",
        limit / 1_048_576
    ))
}

pub async fn read(
    app: &app::App,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Upload, UploadError> {
    let limit = app::imports::MAX_UPLOAD_BYTES;
    // A body declared too large is refused before a byte of it is stored.
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + MAX_TEXT_PART as u64) {
        return Err(too_large(limit));
    }
    let mut parts = Multipart::new(req.headers(), payload);
    let mut upload = Upload {
        file: None,
        fields: Vec::new(),
    };
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(|e| {
            UploadError::Bad(format!(
                "The upload could not be read as multipart/form-data ({e}). Send the CSV as a part named file."
            ))
        })?;
        let name = part.name().unwrap_or_default().to_owned();
        if name == "file" && upload.file.is_none() {
            let file_name = part
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or("upload.csv")
                .to_owned();
            let path = app::imports::incoming_path(app)
                .map_err(|e| UploadError::Internal(e.to_string()))?;
            let mut file = std::fs::File::create(&path)
                .map_err(|e| UploadError::Internal(format!("cannot store the upload: {e}")))?;
            upload.file = Some((file_name, path));
            let mut written = 0u64;
            while let Some(chunk) = part.next().await {
                let chunk = chunk.map_err(|e| {
                    UploadError::Bad(format!("The upload was cut off ({e}). Try again."))
                })?;
                written += chunk.len() as u64;
                if written > limit {
                    return Err(too_large(limit));
                }
                file.write_all(&chunk)
                    .map_err(|e| UploadError::Internal(format!("cannot store the upload: {e}")))?;
            }
        } else {
            let mut text = Vec::new();
            while let Some(chunk) = part.next().await {
                let chunk = chunk.map_err(|e| {
                    UploadError::Bad(format!("The upload was cut off ({e}). Try again."))
                })?;
                if text.len() + chunk.len() > MAX_TEXT_PART {
                    return Err(UploadError::TooLarge(format!(
                        "The part '{name}' is too large: the limit is 1 MB."
                    )));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text)
                .map_err(|_| UploadError::Bad(format!("The part '{name}' is not UTF-8 text.")))?;
            upload.fields.push((name, text));
        }
    }
    Ok(upload)
}

impl Upload {
    /// Hands the file over (to `app::imports::upload`, which moves it).
    pub fn take_file(&mut self) -> Option<(String, PathBuf)> {
        self.file.take()
    }
}
