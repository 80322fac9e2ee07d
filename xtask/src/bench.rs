//! `cargo xtask bench`: start-up time and memory of the release binary, measured on this
//! machine. Each run starts `pi-crm serve` on port 0, times the moment it prints its address
//! and the first `/readyz` answer, reads its resident memory from `/proc` when idle and after a
//! burst of requests, and times a graceful stop. Figures go in docs/benchmarks.md.

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
    Ok(())
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

fn rss_kib(pid: u32) -> Result<u64, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "no VmRSS in /proc status".into())
}
