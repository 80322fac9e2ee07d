//! Builds the front-end assets into OUT_DIR: `app.css` (Tailwind CSS v4 CLI),
//! `htmx.min.js` (from npm) and `app.js`. The web crate embeds them with
//! `include_str!(concat!(env!("OUT_DIR"), "/app.css"))` and so on, so the
//! binary needs no Node.js at run time. See web-assets/README.md and
//! docs/decisions/0002-assets-built-by-build-rs.md.
//!
//! `PI_CRM_ASSETS_DIR=/dir` copies prebuilt `app.css`, `htmx.min.js` and
//! `app.js` from that directory instead (a relative path is taken from the
//! workspace root), and runs no npm.
//!
//! Also sets `PI_CRM_ASSETS_HASH` (16 hex digits over the three files) for
//! cache-busting asset URLs: `env!("PI_CRM_ASSETS_HASH")`.

use std::env;
use std::fs;
use std::hash::{DefaultHasher, Hasher};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const OUTPUTS: [&str; 3] = ["app.css", "htmx.min.js", "app.js"];

const NEED_NODE: &str = "pi-crm needs Node.js (20 or newer) and npm to build its CSS \
    (apt-get install nodejs npm), or set PI_CRM_ASSETS_DIR to a directory holding \
    prebuilt app.css, htmx.min.js and app.js";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let workspace = manifest_dir
        .ancestors()
        .nth(2)
        .expect("crates/web sits two levels below the workspace root");

    println!("cargo:rerun-if-env-changed=PI_CRM_ASSETS_DIR");

    match env::var_os("PI_CRM_ASSETS_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => copy_prebuilt(&workspace.join(dir), &out_dir),
        None => build_with_node(&manifest_dir, &workspace.join("web-assets"), &out_dir),
    }

    let mut hasher = DefaultHasher::new();
    for name in OUTPUTS {
        hasher.write(&read(&out_dir.join(name)));
    }
    println!(
        "cargo:rustc-env=PI_CRM_ASSETS_HASH={:016x}",
        hasher.finish()
    );
}

fn copy_prebuilt(dir: &Path, out_dir: &Path) {
    for name in OUTPUTS {
        let from = dir.join(name);
        println!("cargo:rerun-if-changed={}", from.display());
        if let Err(e) = fs::copy(&from, out_dir.join(name)) {
            panic!(
                "PI_CRM_ASSETS_DIR is set, but {} cannot be read: {e}.\n\
                 Point PI_CRM_ASSETS_DIR at a directory holding prebuilt app.css, htmx.min.js \
                 and app.js (an absolute path, or one relative to the workspace root), \
                 or unset it to build them with Node.js and npm.",
                from.display()
            );
        }
    }
}

fn build_with_node(manifest_dir: &Path, assets: &Path, out_dir: &Path) {
    let src = assets.join("src");
    let lock = assets.join("package-lock.json");
    if !lock.is_file() {
        panic!(
            "{} is missing: the web-assets directory of the pi-crm repository is incomplete.\n\
             Restore it from git (git checkout -- web-assets), or set PI_CRM_ASSETS_DIR to a \
             directory holding prebuilt app.css, htmx.min.js and app.js.",
            lock.display()
        );
    }

    println!("cargo:rerun-if-changed={}", lock.display());
    println!(
        "cargo:rerun-if-changed={}",
        assets.join("package.json").display()
    );
    emit_rerun_tree(&src, |_| true);
    // Tailwind scans the templates, so every change under crates/web/src reruns it.
    emit_rerun_tree(&manifest_dir.join("src"), |p| {
        p.extension().is_some_and(|e| e == "rs")
    });

    // One build at a time per checkout: two cargo processes with different
    // target dirs would otherwise run `npm ci` over each other.
    let _guard = lock_checkout(assets);

    if node_modules_stale(assets, &lock) {
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        let mut cmd = Command::new(npm);
        cmd.args(["ci", "--no-audit", "--no-fund"]);
        run(
            cmd,
            assets,
            "`npm ci` in web-assets failed. Check that npm can reach its registry and that \
             Node.js is version 20 or newer (node --version), then build again",
        );
    }

    let bin = assets.join("node_modules").join(".bin");
    let tailwind = bin.join(if cfg!(windows) {
        "tailwindcss.cmd"
    } else {
        "tailwindcss"
    });
    if !tailwind.exists() {
        panic!(
            "{} is missing after npm ci. Delete web-assets/node_modules and build again.",
            tailwind.display()
        );
    }
    let css_out = out_dir.join("app.css");
    let mut cmd = Command::new(&tailwind);
    cmd.arg("-i")
        .arg(src.join("app.css"))
        .arg("-o")
        .arg(&css_out)
        .arg("--minify");
    run(
        cmd,
        assets,
        "The Tailwind CSS CLI failed to build web-assets/src/app.css. Fix the CSS error above; \
         if it is not a CSS error, check that Node.js is version 20 or newer (node --version) \
         or delete web-assets/node_modules and build again",
    );
    if fs::metadata(&css_out).map(|m| m.len() == 0).unwrap_or(true) {
        panic!(
            "Tailwind wrote no {}. Delete web-assets/node_modules and build again.",
            css_out.display()
        );
    }

    copy(
        &assets.join("node_modules/htmx.org/dist/htmx.min.js"),
        &out_dir.join("htmx.min.js"),
    );
    copy(&src.join("app.js"), &out_dir.join("app.js"));
}

/// `npm ci` is due when node_modules/.package-lock.json (written by npm) is
/// missing or older than package-lock.json.
fn node_modules_stale(assets: &Path, lock: &Path) -> bool {
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        mtime(&assets.join("node_modules/.package-lock.json")),
        mtime(lock),
    ) {
        (Some(installed), Some(wanted)) => installed < wanted,
        _ => true,
    }
}

fn run(mut cmd: Command, cwd: &Path, what_to_do: &str) {
    let shown = format!("{cmd:?}");
    // Cargo sets DEBUG=true|false for build scripts; Tailwind reads DEBUG too.
    // NO_COLOR keeps escape codes out of the panic message.
    cmd.current_dir(cwd)
        .env_remove("DEBUG")
        .env("NO_COLOR", "1");
    let output: Output = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!("{NEED_NODE}.\n(Could not run {shown}: {e})")
        }
        Err(e) => panic!("Could not run {shown}: {e}.\n{what_to_do}."),
    };
    if !output.status.success() {
        let mut text = String::new();
        for (name, bytes) in [("stderr", &output.stderr), ("stdout", &output.stdout)] {
            let s = String::from_utf8_lossy(bytes);
            if !s.trim().is_empty() {
                text += &format!("--- {name} ---\n{}\n", s.trim_end());
            }
        }
        // `env: node: No such file or directory` from the tailwindcss shebang.
        let hint = if output.status.code() == Some(127) {
            format!("\n{NEED_NODE}.")
        } else {
            String::new()
        };
        panic!(
            "{shown} failed ({}) in {}.\n{text}{what_to_do}.{hint}",
            output.status,
            cwd.display(),
        );
    }
}

fn copy(from: &Path, to: &Path) {
    if let Err(e) = fs::copy(from, to) {
        panic!(
            "Could not copy {} to {}: {e}.\nDelete web-assets/node_modules and build again \
             (npm ci runs again), or set PI_CRM_ASSETS_DIR to a directory of prebuilt assets.",
            from.display(),
            to.display()
        );
    }
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("Could not read {}: {e}", path.display()))
}

/// Prints `rerun-if-changed` for `dir`, its subdirectories (so new files
/// count) and every file under it that `keep` accepts.
fn emit_rerun_tree(dir: &Path, keep: impl Fn(&Path) -> bool + Copy) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            emit_rerun_tree(&path, keep);
        } else if keep(&path) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// An exclusive lock on a file in the temp dir named after this checkout;
/// held until dropped.
fn lock_checkout(assets: &Path) -> Option<fs::File> {
    let mut hasher = DefaultHasher::new();
    hasher.write(
        fs::canonicalize(assets)
            .unwrap_or_else(|_| assets.to_path_buf())
            .as_os_str()
            .as_encoded_bytes(),
    );
    let path = env::temp_dir().join(format!("pi-crm-web-assets-{:016x}.lock", hasher.finish()));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ok()?;
    // Best effort: a filesystem without locks just builds unlocked.
    file.lock().ok()?;
    Some(file)
}
