//! `cargo xtask bench`, CSV part: import and export of `PI_CRM_BENCH_CONTACTS` (default
//! 100,000) rows with 10 custom-field columns through the running server's API, timing each
//! and sampling the server's resident memory meanwhile; and the floor: loading the same file
//! into a plain table with `sqlite3 .import`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::bench::{api_key, number_after, rss_kib, run_cli, serve_with_key_limits, stop};

const HEADER: &str = "First Name,Last Name,Email,Phone,Company,Stage,Tags,Closing Date,Loan Amount,Rate,Property URL,Referral Phone,Notes,Credit Score,Agent Email,Source,Birthday";

/// A realistic file: base fields, a stage, tags, and 10 custom columns of every common type.
fn write_csv(path: &Path, n: usize) -> Result<u64, String> {
    let first = [
        "Ana", "Ben", "Carla", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivan", "José",
    ];
    let last = [
        "Smith", "García", "Nguyen", "O'Brien", "Müller", "Okafor", "Rossi", "Tanaka",
    ];
    let stages = ["Leads", "Prospects", "Closed"];
    let sources = ["Zillow", "Referral", "Open house"];
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    let w = |out: &mut std::io::BufWriter<std::fs::File>, s: String| {
        out.write_all(s.as_bytes()).map_err(|e| e.to_string())
    };
    w(&mut out, format!("{HEADER}\n"))?;
    for i in 0..n {
        w(
            &mut out,
            format!(
                "{},{},c{i}@example.com,+1415{:07},Co {},{},{},2025-{:02}-{:02},{}.50,{:.2},https://homes.example.com/{i},+1650{:07},note {i} about the house,{},agent{}@realty.example,{},19{}-0{}-1{}\n",
                first[i % first.len()],
                last[i % last.len()],
                5_500_000 + i,
                i % 500,
                stages[i % 3],
                if i % 3 == 0 { "\"VIP, 2024\"" } else { "" },
                1 + i % 12,
                1 + i % 28,
                100_000 + i * 3,
                6.0 + (i % 100) as f64 / 100.0,
                5_500_000 + i,
                600 + i % 250,
                i % 50,
                sources[i % 3],
                50 + i % 50,
                1 + i % 9,
                i % 9,
            ),
        )?;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0))
}

/// Samples a process's resident memory every 20 ms until dropped; `max()` is the peak.
struct RssWatch {
    running: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
}

impl RssWatch {
    fn start(pid: u32) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let peak = Arc::new(AtomicU64::new(0));
        let (r, p) = (running.clone(), peak.clone());
        std::thread::spawn(move || {
            while r.load(Ordering::Relaxed) {
                if let Ok(kib) = rss_kib(pid) {
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self { running, peak }
    }

    fn stop(self) -> f64 {
        self.running.store(false, Ordering::Relaxed);
        self.peak.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// One HTTP/1.0 request; the status and the body.
fn request(addr: &str, head: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let status = String::from_utf8_lossy(&response[..split.min(32)])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    Ok((status, response[split + 4..].to_vec()))
}

pub fn import_export(binary: &Path, dir: &Path, n: usize) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let csv = dir.join("contacts.csv");
    let bytes = write_csv(&csv, n)?;
    let data = dir.join("data");
    run_cli(
        binary,
        &data,
        &["user", "add", "--username", "bench", "--password-stdin"],
        Some("bench passphrase 1234"),
    )?;
    let seeded = run_cli(
        binary,
        &data,
        &["seed", "--username", "bench", "--contacts", "1"],
        None,
    )?;
    let ws = number_after(&seeded, "into workspace").ok_or("no workspace id")?;
    let key = api_key(binary, &data, "contacts:read,contacts:write")?;
    // The import on a server that has just started; the export on a fresh start too, as a
    // person would export some time later (not in the seconds the import's pages are warm).
    let (mut child, addr) = serve_with_key_limits(binary, &data)?;
    let imported = import(&addr, &key, ws, &csv, child.id());
    stop(&mut child);
    let (import_s, import_rss) = imported?;
    let (mut child, addr) = serve_with_key_limits(binary, &data)?;
    let exported = export(&addr, &key, ws, child.id());
    stop(&mut child);
    let (export_s, export_rss, exported) = exported?;
    let floor = sqlite_floor(dir, &csv);
    println!(
        "\nCSV at size: {n} rows, 10 custom-field columns, {:.1} MiB",
        bytes as f64 / 1_048_576.0
    );
    println!(
        "  import through the API (upload to done): {import_s:6.1} s, server peak {import_rss:.0} MiB RSS"
    );
    println!(
        "  export through the API ({:.1} MiB):      {export_s:6.1} s, server peak {export_rss:.0} MiB RSS",
        exported as f64 / 1_048_576.0
    );
    match floor {
        Ok(floor_s) => println!(
            "  floor: sqlite3 .import into a plain table: {floor_s:5.1} s (import is {:.1}x the floor)",
            import_s / floor_s
        ),
        Err(e) => println!("  floor: not measured ({e})"),
    }
    Ok(())
}

/// Seconds from the upload to `done`, and the server's peak memory meanwhile.
fn import(addr: &str, key: &str, ws: i64, csv: &Path, pid: u32) -> Result<(f64, f64), String> {
    let file = std::fs::read(csv).map_err(|e| e.to_string())?;
    let boundary = "pi-crm-bench-boundary";
    let mut body = Vec::with_capacity(file.len() + 512);
    for (name, value) in [
        ("mapping", "auto"),
        ("policy", "skip"),
        ("create_fields", "true"),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contacts.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /api/v1/workspaces/{ws}/imports HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let watch = RssWatch::start(pid);
    let started = Instant::now();
    let (status, answer) = request(addr, &head, &body)?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    if status != 202 {
        return Err(format!("the import answered {status}: {answer}"));
    }
    let id = number_after(&answer, "\"id\":").ok_or("no import id")?;
    let get = format!(
        "GET /api/v1/imports/{id} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\r\n"
    );
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let (_, body) = request(addr, &get, &[])?;
        let body = String::from_utf8_lossy(&body).into_owned();
        if body.contains("\"status\":\"done\"") {
            if !body.contains(&format!(
                "\"new\":{}",
                file.iter().filter(|b| **b == b'\n').count() - 1
            )) {
                return Err(format!("the import did not take every row: {body}"));
            }
            break;
        }
        if !body.contains("\"status\":\"running\"") {
            return Err(format!("the import ended badly: {body}"));
        }
    }
    Ok((started.elapsed().as_secs_f64(), watch.stop()))
}

/// Seconds to download the workspace's CSV, the server's peak memory, and the bytes.
fn export(addr: &str, key: &str, ws: i64, pid: u32) -> Result<(f64, f64, usize), String> {
    let watch = RssWatch::start(pid);
    let started = Instant::now();
    let (status, exported) = request(
        addr,
        &format!(
            "GET /api/v1/workspaces/{ws}/contacts.csv HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\r\n"
        ),
        &[],
    )?;
    let export_s = started.elapsed().as_secs_f64();
    let export_rss = watch.stop();
    if status != 200 {
        return Err(format!("the export answered {status}"));
    }
    Ok((export_s, export_rss, exported.len()))
}

/// Seconds for `sqlite3` to load the file into a new plain table (no indexes, no checks).
fn sqlite_floor(dir: &Path, csv: &Path) -> Result<f64, String> {
    let db = dir.join("floor.sqlite3");
    let _ = std::fs::remove_file(&db);
    let started = Instant::now();
    let status = Command::new("sqlite3")
        .arg(&db)
        .arg(format!(".import --csv {} contacts", csv.display()))
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("sqlite3 not found ({e}); apt-get install sqlite3"))?;
    if !status.success() {
        return Err("sqlite3 .import failed".into());
    }
    Ok(started.elapsed().as_secs_f64())
}
