//! `cargo xtask`: the project's task runner (std only).
//!
//! `cargo xtask ci` is the one command that runs every check and test:
//! formatting, clippy, `cargo test --workspace` (unit and black-box tests)
//! and the Playwright browser tests in `xtask/browser/`. The other
//! subcommands are shortcuts for development and administration; run
//! `cargo xtask help` for the list.

use std::env;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

mod bench;
mod bench_csv;

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
Usage: cargo xtask <COMMAND> [ARGS...]

Checks and builds:
  ci              Run every check and test: fmt, clippy, cargo test, browser tests
  browser         Run only the browser tests (builds the release binaries first)
  assets          npm ci in web-assets/, then cargo build -p web (builds the CSS)
  bench           Start-up time and memory of the release binary (see docs/benchmarks.md)

Admin shortcuts (cargo run --release -p pi-crm -- ...; stdin is passed through):
  serve [ARGS...]          pi-crm serve
  migrate [ARGS...]        pi-crm migrate
  user-add [ARGS...]       pi-crm user add   (e.g. --username NAME --password-stdin)
  apikey-create [ARGS...]  pi-crm apikey create
  seed [ARGS...]           pi-crm seed (e.g. --username NAME --contacts 100000)

Development:
  fakes [ARGS...]          Fake Mailgun and Twilio on loopback for a local demo
                           (cargo run -p fakes --bin pi-crm-fakes -- ...; --help for options)

  help            Show this text

Environment:
  CHROMIUM        Chromium for the browser tests (default /usr/bin/chromium)
  CARGO           cargo binary to use (set automatically by cargo)
";

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The server: its package and its binary.
const PI_CRM: &str = "pi-crm";
/// The loopback fakes of Mailgun and Twilio (package `fakes`), for demos and browser tests.
const FAKES_PACKAGE: &str = "fakes";
const FAKES_BIN: &str = "pi-crm-fakes";

fn main() -> ExitCode {
    let mut args = env::args_os().skip(1);
    let command = args.next();
    let rest: Vec<OsString> = args.collect();
    let Some(command) = command else {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    };
    let ws = match Workspace::locate() {
        Ok(ws) => ws,
        Err(e) => return fail(&e),
    };
    match dispatch(&ws, &command, &rest) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("xtask: error: {message}");
    ExitCode::FAILURE
}

fn dispatch(ws: &Workspace, command: &OsStr, rest: &[OsString]) -> Result<ExitCode> {
    let name = command.to_str().unwrap_or("");
    match name {
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        "ci" => no_args(name, rest).map(|()| ci(ws)),
        "browser" => no_args(name, rest).and_then(|()| browser(ws)),
        "assets" => no_args(name, rest).and_then(|()| assets(ws)),
        "bench" => no_args(name, rest).and_then(|()| bench(ws)),
        "serve" => forward(ws, &["serve"], rest),
        "migrate" => forward(ws, &["migrate"], rest),
        "user-add" => forward(ws, &["user", "add"], rest),
        "apikey-create" => forward(ws, &["apikey", "create"], rest),
        "seed" => forward(ws, &["seed"], rest),
        "fakes" => fakes(ws, rest),
        _ => {
            eprint!(
                "xtask: unknown command `{}`\n\n{USAGE}",
                command.to_string_lossy()
            );
            Ok(ExitCode::from(2))
        }
    }
}

fn no_args(command: &str, rest: &[OsString]) -> Result {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(format!(
            "`{command}` takes no arguments (got `{}`)",
            arg.to_string_lossy()
        )),
    }
}

/// Paths and tools of the workspace this xtask belongs to.
struct Workspace {
    root: PathBuf,
    cargo: OsString,
}

impl Workspace {
    fn locate() -> Result<Self> {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .ok_or_else(|| format!("{} has no parent directory", manifest_dir.display()))?
            .to_path_buf();
        let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        Ok(Self { root, cargo })
    }

    /// A `cargo` command run from the workspace root.
    fn cargo<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.cargo);
        cmd.current_dir(&self.root).args(args);
        cmd
    }

    fn web_assets(&self) -> PathBuf {
        self.root.join("web-assets")
    }

    fn browser_tests_dir(&self) -> PathBuf {
        self.root.join("xtask").join("browser")
    }

    fn release_binary(&self) -> PathBuf {
        self.release_binary_named(PI_CRM)
    }

    /// `target/release/<name>` (or under `CARGO_TARGET_DIR`).
    fn release_binary_named(&self, name: &str) -> PathBuf {
        let target = env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), PathBuf::from);
        // `join` keeps an absolute CARGO_TARGET_DIR as it is.
        self.root
            .join(target)
            .join("release")
            .join(format!("{name}{}", env::consts::EXE_SUFFIX))
    }
}

// ---------------------------------------------------------------- ci

/// A named step of `ci`.
type Step = (&'static str, fn(&Workspace) -> Result);

const CI_STEPS: &[Step] = &[
    ("fmt", fmt_check),
    ("clippy", clippy),
    ("test", cargo_test),
    ("browser", browser_step),
];

fn ci(ws: &Workspace) -> ExitCode {
    let started = Instant::now();
    let total = CI_STEPS.len();
    for (i, &(name, step)) in CI_STEPS.iter().enumerate() {
        heading(&format!("[{}/{total}] {name}", i + 1));
        let step_started = Instant::now();
        if let Err(e) = step(ws) {
            eprintln!("\n{e}");
            println!(
                "\nci: FAILED at step {}/{total} ({}) after {}",
                i + 1,
                name,
                elapsed(started)
            );
            return ExitCode::FAILURE;
        }
        println!("--- {name} ok ({})", elapsed(step_started));
    }
    let names: Vec<&str> = CI_STEPS.iter().map(|&(name, _)| name).collect();
    println!(
        "\nci: all {total} steps passed ({}) in {}",
        names.join(", "),
        elapsed(started)
    );
    ExitCode::SUCCESS
}

fn fmt_check(ws: &Workspace) -> Result {
    run(ws, &mut ws.cargo(["fmt", "--all", "--", "--check"]))
}

fn clippy(ws: &Workspace) -> Result {
    run(
        ws,
        &mut ws.cargo([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )
}

fn cargo_test(ws: &Workspace) -> Result {
    let moto = moto_server(ws)?;
    run(
        ws,
        ws.cargo(["test", "--workspace"])
            .env("PI_CRM_MOTO_SERVER", moto),
    )
}

/// The S3-compatible server the off-site backup tests talk to: moto from PyPI, pinned in
/// `xtask/requirements-test.txt`, installed once into `target/tools/moto`.
fn moto_server(ws: &Workspace) -> Result<PathBuf> {
    let venv = ws.root.join("target").join("tools").join("moto");
    let binary = venv.join("bin").join("moto_server");
    let requirements = ws.root.join("xtask").join("requirements-test.txt");
    let stamp = venv.join("installed-requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    if binary.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(binary);
    }
    heading("installing moto (S3-compatible test server) into target/tools/moto");
    run(ws, Command::new("python3").args(["-m", "venv"]).arg(&venv))
        .map_err(|e| format!("{e}\n(python3 with venv is needed: apt-get install python3-venv)"))?;
    run(
        ws,
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(binary)
}

// ---------------------------------------------------------------- browser

fn browser(ws: &Workspace) -> Result<ExitCode> {
    heading("browser tests");
    let started = Instant::now();
    browser_step(ws)?;
    println!("\nbrowser: passed in {}", elapsed(started));
    Ok(ExitCode::SUCCESS)
}

/// Builds the release binaries (pi-crm and the fakes) and runs `node --test` on
/// `xtask/browser/*.test.mjs`, with `PI_CRM_BIN` and `PI_CRM_FAKES_BIN` pointing at them.
fn browser_step(ws: &Workspace) -> Result {
    // Check the cheap preconditions before the long release build.
    let tests = browser_tests(&ws.browser_tests_dir())?;
    let chromium = chromium();
    if !chromium.is_file() {
        return Err(format!(
            "Chromium not found at {} (install it, e.g. `apt-get install chromium`, or set CHROMIUM)",
            chromium.display()
        ));
    }
    // Install npm dependencies first: playwright-core comes from there, and the
    // web crate's build script needs them to build the CSS.
    if !ws.web_assets().join("node_modules").is_dir() {
        npm_ci(ws)?;
    }
    run(
        ws,
        &mut ws.cargo([
            "build",
            "--release",
            "-p",
            PI_CRM,
            "-p",
            FAKES_PACKAGE,
            "--bin",
            PI_CRM,
            "--bin",
            FAKES_BIN,
        ]),
    )?;
    let binary = ws.release_binary();
    let fakes = ws.release_binary_named(FAKES_BIN);
    for built in [&binary, &fakes] {
        if !built.is_file() {
            return Err(format!("built binary not found at {}", built.display()));
        }
    }
    let mut node = Command::new("node");
    node.current_dir(&ws.root)
        .arg("--test")
        .args(tests.iter().map(|t| t.strip_prefix(&ws.root).unwrap_or(t)))
        .env("PI_CRM_BIN", &binary)
        .env("PI_CRM_FAKES_BIN", &fakes)
        .env("CHROMIUM", &chromium)
        .env("NODE_PATH", ws.web_assets().join("node_modules"));
    run(ws, &mut node)
}

/// The `*.test.mjs` files directly in `dir`, sorted; an error if there are none.
fn browser_tests(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir)
        .map_err(|e| format!("no browser tests found: cannot read {}: {e}", dir.display()))?;
    let mut tests = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        let is_test = path
            .file_name()
            .and_then(OsStr::to_str)
            .is_some_and(|name| name.ends_with(".test.mjs"));
        if is_test && path.is_file() {
            tests.push(path);
        }
    }
    if tests.is_empty() {
        return Err(format!(
            "no browser tests found: no *.test.mjs files in {}",
            dir.display()
        ));
    }
    tests.sort();
    Ok(tests)
}

fn chromium() -> PathBuf {
    env::var_os("CHROMIUM")
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from)
}

// ---------------------------------------------------------------- assets, bench

fn assets(ws: &Workspace) -> Result<ExitCode> {
    heading("assets");
    npm_ci(ws)?;
    run(ws, &mut ws.cargo(["build", "-p", "web"]))?;
    Ok(ExitCode::SUCCESS)
}

fn npm_ci(ws: &Workspace) -> Result {
    let dir = ws.web_assets();
    if !dir.join("package.json").is_file() {
        return Err(format!("no package.json in {}", dir.display()));
    }
    let mut npm = Command::new("npm");
    npm.current_dir(&dir)
        .args(["ci", "--no-audit", "--no-fund"]);
    run(ws, &mut npm)
}

fn bench(ws: &Workspace) -> Result<ExitCode> {
    heading("build the release binary");
    run(ws, &mut ws.cargo(["build", "--release", "-p", "pi-crm"]))?;
    heading("start-up and memory");
    bench::run(&ws.release_binary())?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------- admin shortcuts

/// Runs `cargo run --release -p pi-crm -- <subcommand...> <rest...>`.
///
/// The working directory is left as it is, so relative paths such as
/// `--data-dir ./data` mean what the caller expects; stdin, stdout and
/// stderr are inherited (so `--password-stdin` works).
fn forward(ws: &Workspace, subcommand: &[&str], rest: &[OsString]) -> Result<ExitCode> {
    cargo_run(ws, &["--release", "-p", PI_CRM], subcommand, rest)
}

/// Runs `cargo run -p fakes --bin pi-crm-fakes -- <rest...>`: the fake Mailgun and Twilio
/// for a local demo (`cargo xtask fakes --help` lists their options). Like [`forward`], it
/// replaces this process, so Ctrl-C stops the fakes and their exit status becomes ours.
fn fakes(ws: &Workspace, rest: &[OsString]) -> Result<ExitCode> {
    cargo_run(ws, &["-p", FAKES_PACKAGE, "--bin", FAKES_BIN], &[], rest)
}

/// `cargo run <options> --manifest-path <root>/Cargo.toml -- <subcommand...> <rest...>`,
/// run in place of this process from the caller's working directory.
fn cargo_run(
    ws: &Workspace,
    options: &[&str],
    subcommand: &[&str],
    rest: &[OsString],
) -> Result<ExitCode> {
    let mut cmd = Command::new(&ws.cargo);
    cmd.arg("run")
        .args(options)
        .arg("--manifest-path")
        .arg(ws.root.join("Cargo.toml"))
        .arg("--")
        .args(subcommand)
        .args(rest);
    echo(&cmd, &ws.root);
    exec(cmd)
}

/// Replaces this process with `cmd`, so signals (Ctrl-C for `serve`) go
/// straight to the server and its exit status becomes ours.
#[cfg(unix)]
fn exec(mut cmd: Command) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let error = cmd.exec();
    Err(spawn_error(&cmd, &error))
}

#[cfg(not(unix))]
fn exec(mut cmd: Command) -> Result<ExitCode> {
    let status = cmd.status().map_err(|e| spawn_error(&cmd, &e))?;
    let code = status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1);
    Ok(ExitCode::from(code))
}

// ---------------------------------------------------------------- helpers

/// Echoes and runs `cmd`, failing unless it exits successfully.
fn run(ws: &Workspace, cmd: &mut Command) -> Result {
    echo(cmd, &ws.root);
    let status = cmd.status().map_err(|e| spawn_error(cmd, &e))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", display(cmd)))
    }
}

fn spawn_error(cmd: &Command, error: &std::io::Error) -> String {
    let program = cmd.get_program().to_string_lossy();
    if error.kind() == std::io::ErrorKind::NotFound {
        format!("cannot run `{program}`: not found (is it installed and on PATH?)")
    } else {
        format!("cannot run `{program}`: {error}")
    }
}

/// Prints `$ cmd args`, with its directory (relative to `root`) when that is not `root`.
fn echo(cmd: &Command, root: &Path) {
    match cmd.get_current_dir().filter(|&dir| dir != root) {
        Some(dir) => {
            let dir = dir.strip_prefix(root).unwrap_or(dir);
            println!("$ (cd {} && {})", dir.display(), display(cmd));
        }
        None => println!("$ {}", display(cmd)),
    }
}

/// The command line, with the program shown by its file name only.
fn display(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    let program = program.file_name().unwrap_or(program.as_os_str());
    let mut parts = vec![program.to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

fn heading(title: &str) {
    println!("\n==> {title}");
}

fn elapsed(since: Instant) -> String {
    format_duration(since.elapsed())
}

fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
