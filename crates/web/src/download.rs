//! Streamed downloads: a blocking producer (an export, the failed rows of an import) writes
//! into a bounded channel that the response reads, so a file of any size leaves in 64 KiB
//! pieces and memory stays flat. A client that goes away stops the producer.

use std::io::Write;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const PIECE: usize = 64 * 1024;

struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<web::Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = web::Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE)));
        self.tx
            .blocking_send(piece)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "download cancelled"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

/// A CSV attachment named `name`, written by `produce` on a blocking thread.
pub fn csv<F>(app: &app::App, name: &str, produce: F) -> HttpResponse
where
    F: FnOnce(&app::App, &mut dyn Write) -> Result<(), app::AppError> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<web::Bytes>(4);
    let app = app.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut sink = ChannelWriter {
            tx,
            buf: Vec::with_capacity(PIECE),
        };
        if let Err(e) = produce(&app, &mut sink) {
            // The status line has gone out already; the download ends short, and the log
            // says why.
            tracing::error!(cause = %e, "a streamed download stopped");
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|piece| (Ok::<_, actix_web::Error>(piece), rx))
    });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(body)
}
