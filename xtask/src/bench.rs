//! `cargo xtask bench`: figures for docs/benchmarks.md, measured on this machine with the
//! release binary.
//!
//! - Start-up and memory: each run starts `pi-crm serve` on port 0, times the moment it prints
//!   its address and the first `/readyz` answer, reads its resident memory from `/proc` when
//!   idle and after a burst of requests, and times a graceful stop.
//! - Contacts at size: seeds `PI_CRM_BENCH_CONTACTS` (default 100,000) synthetic contacts with
//!   `pi-crm seed`, then times the contacts table's queries through the API (server time plus
//!   a loopback round trip): the first page, a custom-field filter with a tag filter, a
//!   full-text search, and opening the contact with 200 log entries.
//! - CSV at size: see `bench_csv`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const BURST: usize = 500;

struct Sample {
    listening: Duration,
    ready: Duration,
    idle_rss_kib: u64,
    burst_rss_kib: u64,
    stop: Duration,
}

pub fn run(binary: &Path) -> Result<(), String> {
    let size = std::fs::metadata(binary)
        .map_err(|e| format!("{}: {e}", binary.display()))?
        .len();
    let scratch = std::env::temp_dir().join(format!("pi-crm-bench-{}", std::process::id()));
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for i in 0..RUNS {
        let dir = scratch.join(format!("run-{i}"));
        let _ = std::fs::remove_dir_all(&dir);
        cold.push(sample(binary, &dir)?);
        warm.push(sample(binary, &dir)?);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "binary: {} ({:.1} MiB)",
        binary.display(),
        size as f64 / 1_048_576.0
    );
    println!("{RUNS} runs each; medians (min-max)");
    report(
        "cold start (new data dir: creates and migrates the database)",
        &cold,
    );
    report("warm start (existing database)", &warm);
    let contacts = std::env::var("PI_CRM_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let result = contacts_at_size(binary, &scratch.join("contacts"), contacts)
        .and_then(|()| crate::bench_csv::import_export(binary, &scratch.join("csv"), contacts));
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

const RUNS_PER_QUERY: usize = 30;

pub fn run_cli(
    binary: &Path,
    data_dir: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String, String> {
    let mut child = Command::new(binary)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("pi-crm {} failed", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The number after `marker` in `text`.
pub fn number_after(text: &str, marker: &str) -> Option<i64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn contacts_at_size(binary: &Path, dir: &Path, n: usize) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    run_cli(
        binary,
        dir,
        &["user", "add", "--username", "bench", "--password-stdin"],
        Some("bench passphrase 1234"),
    )?;
    let seeding = Instant::now();
    let seeded = run_cli(
        binary,
        dir,
        &["seed", "--username", "bench", "--contacts", &n.to_string()],
        None,
    )?;
    let seed_time = seeding.elapsed();
    let ws = number_after(&seeded, "into workspace").ok_or("no workspace id in the seed output")?;
    let long = number_after(&seeded, "long log:").ok_or("no contact id in the seed output")?;
    let key = api_key(binary, dir, "contacts:read")?;
    let size = std::fs::metadata(dir.join("pi-crm.sqlite3"))
        .map(|m| m.len())
        .unwrap_or(0);

    let (mut child, addr) = serve_with_key_limits(binary, dir)?;
    let queries = [
        (
            "first page of the table, unfiltered",
            format!("/api/v1/workspaces/{ws}/contacts"),
        ),
        (
            "custom-field filter + tag filter",
            format!("/api/v1/workspaces/{ws}/contacts?cf.loan_amount.gt=1500000&tag=VIP"),
        ),
        (
            "full-text search (prefix 'ngu')",
            format!("/api/v1/workspaces/{ws}/contacts?q=ngu"),
        ),
        (
            "stage filter (~20% of contacts)",
            format!("/api/v1/workspaces/{ws}/contacts?list=Leads"),
        ),
        (
            "open the contact with 200 log entries",
            format!("/api/v1/contacts/{long}"),
        ),
        (
            "  and its 200 log entries",
            format!("/api/v1/contacts/{long}/log?limit=200"),
        ),
    ];
    println!(
        "\ncontacts at size: {n} contacts seeded in {:.1} s; database {:.0} MiB",
        seed_time.as_secs_f64(),
        size as f64 / 1_048_576.0
    );
    println!("{RUNS_PER_QUERY} requests each after 3 warm-ups; median (p95), milliseconds");
    let mut failure = None;
    for (name, path) in &queries {
        let mut times = Vec::new();
        for i in 0..RUNS_PER_QUERY + 3 {
            let started = Instant::now();
            let status = get_with_key(&addr, path, &key)?;
            if status != 200 {
                failure = Some(format!("{path} answered {status}"));
            }
            if i >= 3 {
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
        println!("  {name:40} {:7.1} ({p95:.1})", times[times.len() / 2]);
    }
    stop(&mut child);
    failure.map_or(Ok(()), Err)
}

/// A new API key of the `bench` user with these scopes.
pub fn api_key(binary: &Path, dir: &Path, scopes: &str) -> Result<String, String> {
    let out = run_cli(
        binary,
        dir,
        &[
            "apikey",
            "create",
            "--username",
            "bench",
            "--label",
            "bench",
            "--scopes",
            scopes,
        ],
        None,
    )?;
    Ok(out.lines().last().unwrap_or_default().trim().to_owned())
}

/// `pi-crm serve` on a free port with the API rate limit out of the way; the child and its
/// address.
pub fn serve_with_key_limits(
    binary: &Path,
    data: &Path,
) -> Result<(std::process::Child, String), String> {
    let mut child = Command::new(binary)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .env("PI_CRM_API_RATE_PER_MINUTE", "100000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .ok_or("no address")?
        .to_owned();
    Ok((child, addr))
}

/// SIGTERM, then wait for the exit.
pub fn stop(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn get_with_key(addr: &str, path: &str, key: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&response[..response.len().min(32)])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in the answer to {path}"))
}

fn report(title: &str, samples: &[Sample]) {
    println!("\n{title}");
    let ms = |f: fn(&Sample) -> Duration| {
        stats(
            samples
                .iter()
                .map(|s| f(s).as_secs_f64() * 1000.0)
                .collect(),
        )
    };
    let mib = |f: fn(&Sample) -> u64| stats(samples.iter().map(|s| f(s) as f64 / 1024.0).collect());
    let (m, lo, hi) = ms(|s| s.listening);
    println!("  until 'listening on':        {m:7.1} ms ({lo:.1}-{hi:.1})");
    let (m, lo, hi) = ms(|s| s.ready);
    println!("  until /readyz answers 200:   {m:7.1} ms ({lo:.1}-{hi:.1})");
    let (m, lo, hi) = mib(|s| s.idle_rss_kib);
    println!("  idle resident memory:        {m:7.1} MiB ({lo:.1}-{hi:.1})");
    let (m, lo, hi) = mib(|s| s.burst_rss_kib);
    println!("  after {BURST} requests:         {m:7.1} MiB ({lo:.1}-{hi:.1})");
    let (m, lo, hi) = ms(|s| s.stop);
    println!("  graceful stop (SIGTERM):     {m:7.1} ms ({lo:.1}-{hi:.1})");
}

fn stats(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

fn sample(binary: &Path, data_dir: &Path) -> Result<Sample, String> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let listening = started.elapsed();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .ok_or_else(|| format!("unexpected first line {line:?}"))?
        .to_owned();
    let status = get(&addr, "/readyz")?;
    let ready = started.elapsed();
    if status != 200 {
        return Err(format!("/readyz answered {status}"));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let idle_rss_kib = rss_kib(child.id())?;
    for i in 0..BURST {
        let path = if i % 2 == 0 { "/login" } else { "/healthz" };
        get(&addr, path)?;
    }
    let burst_rss_kib = rss_kib(child.id())?;
    let stopping = Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    child.wait().map_err(|e| e.to_string())?;
    Ok(Sample {
        listening,
        ready,
        idle_rss_kib,
        burst_rss_kib,
        stop: stopping.elapsed(),
    })
}

/// A minimal HTTP/1.0 GET; returns the status code.
fn get(addr: &str, path: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in the answer to {path}"))
}

pub fn rss_kib(pid: u32) -> Result<u64, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "no VmRSS in /proc status".into())
}
