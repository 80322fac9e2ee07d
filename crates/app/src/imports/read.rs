//! Reading an uploaded CSV: its encoding and delimiter (detected, or as the person chose), the
//! header, a preview, and then the rows one at a time with their record number, each cell
//! decoded. Streaming: memory stays flat whatever the file's size.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use domain::csv_import::{self, Encoding};
use domain::validation::ValidationError;

use crate::AppError;

/// The largest file accepted: about 250,000 contacts with a dozen columns.
pub const MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
const SAMPLE_BYTES: usize = 64 * 1024;
const PREVIEW_ROWS: usize = 5;

/// What the wizard shows before mapping.
#[derive(Debug, Clone)]
pub struct Sniffed {
    pub encoding: Encoding,
    pub delimiter: u8,
    /// The header row; blank headers become "Column N" and repeats get " (2)", so every column
    /// has a name of its own.
    pub headers: Vec<String>,
    pub preview: Vec<Vec<String>>,
    /// Records after the header.
    pub total_rows: i64,
}

fn file_error(message: impl Into<String>) -> AppError {
    ValidationError::new("file", message.into()).into()
}

fn open_error(e: std::io::Error) -> AppError {
    AppError::Internal(format!("cannot read the uploaded file: {e}"))
}

/// Checks the start of the file and reads its header, a few rows and the row count.
pub fn sniff(
    path: &Path,
    encoding: Option<Encoding>,
    delimiter: Option<u8>,
) -> Result<Sniffed, AppError> {
    let mut sample = Vec::with_capacity(SAMPLE_BYTES);
    File::open(path)
        .map_err(open_error)?
        .take(SAMPLE_BYTES as u64)
        .read_to_end(&mut sample)
        .map_err(open_error)?;
    let body = csv_import::strip_bom(&sample);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(file_error(
            "The file is empty. Export your contacts as CSV from your other app or spreadsheet, then upload that file.",
        ));
    }
    if body.contains(&0) {
        return Err(file_error(
            "This is not a CSV file (it holds binary data). In your spreadsheet or contacts app choose Export or Save As > CSV, then upload that file.",
        ));
    }
    let encoding = encoding.unwrap_or_else(|| csv_import::detect_encoding(body));
    let delimiter = delimiter.unwrap_or_else(|| csv_import::detect_delimiter(body));
    let mut rows = Rows::open(path, encoding, delimiter)?;
    let Some((_, header)) = rows.next_record()? else {
        return Err(file_error("The file is empty."));
    };
    let headers = unique_headers(header.iter().map(|h| decode_lossy(h, encoding)).collect());
    if headers.iter().all(|h| h.starts_with("Column ")) {
        return Err(file_error(
            "The first row should name the columns (First Name, Email, ...), but it is blank.",
        ));
    }
    let mut preview = Vec::new();
    let mut total_rows = 0i64;
    while let Some((_, record)) = rows.next_record()? {
        if preview.len() < PREVIEW_ROWS {
            preview.push(record.iter().map(|c| decode_lossy(c, encoding)).collect());
        }
        total_rows += 1;
    }
    Ok(Sniffed {
        encoding,
        delimiter,
        headers,
        preview,
        total_rows,
    })
}

fn decode_lossy(bytes: &[u8], encoding: Encoding) -> String {
    csv_import::decode_field(bytes, encoding)
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned())
        .trim()
        .to_owned()
}

fn unique_headers(raw: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, header) in raw.into_iter().enumerate() {
        let base = if header.is_empty() {
            format!("Column {}", i + 1)
        } else {
            header
        };
        let mut name = base.clone();
        let mut n = 2;
        while out.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
            name = format!("{base} ({n})");
            n += 1;
        }
        out.push(name);
    }
    out
}

/// A record's number (the header is 1) and its cells, or why a cell could not be read.
pub type Row = (i64, Result<Vec<String>, String>);

/// The file's records, the header included, as raw bytes per cell.
pub struct Rows {
    reader: csv::Reader<BufReader<File>>,
    record: csv::ByteRecord,
    encoding: Encoding,
    number: i64,
}

impl Rows {
    pub fn open(path: &Path, encoding: Encoding, delimiter: u8) -> Result<Self, AppError> {
        let mut file = BufReader::with_capacity(256 * 1024, File::open(path).map_err(open_error)?);
        // The byte-order mark Excel writes is not part of the first header.
        if file
            .fill_buf()
            .map_err(open_error)?
            .starts_with(b"\xEF\xBB\xBF")
        {
            file.consume(3);
        }
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(file);
        Ok(Self {
            reader,
            record: csv::ByteRecord::new(),
            encoding,
            number: 0,
        })
    }

    fn next_record(&mut self) -> Result<Option<(i64, &csv::ByteRecord)>, AppError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                self.number += 1;
                Ok(Some((self.number, &self.record)))
            }
            Err(e) => Err(AppError::Internal(format!("cannot read the CSV file: {e}"))),
        }
    }

    /// The next record decoded: its number (the header is 1) and its cells, or why a cell
    /// could not be read.
    pub fn next_row(&mut self) -> Result<Option<Row>, AppError> {
        let encoding = self.encoding;
        let Some((number, record)) = self.next_record()? else {
            return Ok(None);
        };
        let cells = record
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                csv_import::decode_field(cell, encoding)
                    .map_err(|m| format!("Column {}: the text {m}", i + 1))
            })
            .collect();
        Ok(Some((number, cells)))
    }

    /// The raw cells of the current record, decoded as well as possible (for the failed-rows
    /// file, which must give back what was there).
    pub fn lossy_cells(&self) -> Vec<String> {
        self.record
            .iter()
            .map(|c| {
                csv_import::decode_field(c, self.encoding)
                    .unwrap_or_else(|_| String::from_utf8_lossy(c).into_owned())
            })
            .collect()
    }
}
