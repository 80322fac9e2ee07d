//! The command line. These forms are a contract that scripts rely on:
//! `serve [--bind ADDR] [--data-dir DIR]`, `user add --username NAME [--display-name TEXT]
//! --password-stdin`, `apikey create --username NAME --label TEXT --scopes S[,S...]`,
//! `migrate`. `--data-dir` (or `PI_CRM_DATA_DIR`) works with every command.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "pi-crm",
    version,
    about = "A self-hosted CRM for small businesses, made to run on a Raspberry Pi."
)]
pub struct Cli {
    /// Where the database and secret key live.
    #[arg(long, global = true, env = "PI_CRM_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (creates and migrates the database if needed).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Run the daily housekeeping job now.
    Housekeeping,
    /// Take a backup now: a verified snapshot of the database with the secret key, in one
    /// timestamped archive (default directory DATA_DIR/backups).
    /// Copied, like the daily one, to the configured directory and bucket.
    Backup {
        /// Directory to write the archive to.
        #[arg(long)]
        to: Option<PathBuf>,
        #[command(flatten)]
        copies: BackupCopies,
    },
    /// Restore a backup into the data directory (refuses to replace existing data unless
    /// --force, and then keeps it aside). ARCHIVE is a file, or the s3:// address of an
    /// encrypted copy; encrypted copies need PI_CRM_BACKUP_PASSPHRASE.
    Restore {
        archive: String,
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        copies: BackupCopies,
    },
    /// Import contacts from a CSV file into a workspace (as its owner) and print the counts.
    Import {
        #[arg(long)]
        workspace: i64,
        #[arg(long)]
        file: PathBuf,
        /// `auto`, or a JSON file mapping column headers to targets
        /// ({"E-mail": "primary_email", "Notes": "skip", ...}).
        #[arg(long, default_value = "auto")]
        mapping: String,
        /// What to do with a row matching a contact already there: skip, update or create.
        #[arg(long, default_value = "skip")]
        policy: String,
        /// With --policy update: replace values already there, not only fill empty ones.
        #[arg(long)]
        overwrite: bool,
        /// Make custom fields (with guessed types) for columns that match none.
        #[arg(long)]
        create_fields: bool,
        /// Count what would happen, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Fill a workspace with realistic synthetic contacts (for trying pi-crm at size and for
    /// benchmarks). Creates the user's workspace if it does not exist.
    Seed {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "Sample data")]
        workspace: String,
        #[arg(long, default_value_t = 1000)]
        contacts: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "PI_CRM_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Sign out after this many minutes without activity.
    #[arg(long, env = "PI_CRM_SESSION_IDLE_MINUTES", default_value_t = 720)]
    pub session_idle_minutes: u64,
    /// Sign out this many hours after signing in, however active.
    #[arg(long, env = "PI_CRM_SESSION_ABSOLUTE_HOURS", default_value_t = 720)]
    pub session_absolute_hours: u64,
    /// API requests allowed per minute per key.
    #[arg(long, env = "PI_CRM_API_RATE_PER_MINUTE", default_value_t = 300)]
    pub api_rate_per_minute: u32,
    /// Sign-in attempts allowed per minute per address.
    #[arg(long, env = "PI_CRM_LOGIN_RATE_PER_MINUTE", default_value_t = 10)]
    pub login_rate_per_minute: u32,
    /// When the daily housekeeping runs (cron: sec min hour day month weekday).
    #[arg(long, env = "PI_CRM_HOUSEKEEPING_CRON", default_value = "0 30 3 * * *")]
    pub housekeeping_cron: String,
    /// When the daily backup runs (cron: sec min hour day month weekday).
    #[arg(long, env = "PI_CRM_BACKUP_CRON", default_value = "0 0 2 * * *")]
    pub backup_cron: String,
    #[command(flatten)]
    pub backup: BackupCopies,
    /// Serve HTTPS with this certificate (PEM; e.g. Let's Encrypt's fullchain.pem)...
    #[arg(long, env = "PI_CRM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// ...and this private key (PEM; e.g. privkey.pem).
    #[arg(long, env = "PI_CRM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate made on first start (kept in DATA_DIR/tls).
    #[arg(long, env = "PI_CRM_TLS_SELF_SIGNED", conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,
    /// Names the self-signed certificate is valid for, besides localhost and the bind address.
    #[arg(long = "tls-name", env = "PI_CRM_TLS_NAMES", value_delimiter = ',')]
    pub tls_names: Vec<String>,
    /// The address at which people and providers reach this server (unsubscribe links,
    /// Twilio callbacks and their signatures), such as https://crm.example.com.
    #[arg(long, env = "PI_CRM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How often connected Google and Microsoft mailboxes are read for replies, in seconds.
    #[arg(long, env = "PI_CRM_MAIL_POLL_SECONDS", default_value_t = 120)]
    pub mail_poll_seconds: u64,
}

/// Where backups are copied, and how long they are kept.
#[derive(Args, Debug, Clone)]
pub struct BackupCopies {
    /// Also copy each backup to this directory (a USB drive or a NAS mount).
    #[arg(long, env = "PI_CRM_BACKUP_COPY_TO")]
    pub backup_copy_to: Option<PathBuf>,
    /// Delete backups older than this many days.
    #[arg(long, env = "PI_CRM_BACKUP_KEEP_DAYS", default_value_t = 30)]
    pub backup_keep_days: i64,
    /// Also copy each backup, encrypted, to this S3-compatible bucket: s3://bucket/folder.
    #[arg(long, env = "PI_CRM_BACKUP_S3")]
    pub backup_s3: Option<String>,
    /// The storage service's address; leave unset for AWS itself
    /// (e.g. https://s3.us-west-004.backblazeb2.com).
    #[arg(long, env = "PI_CRM_BACKUP_S3_ENDPOINT")]
    pub backup_s3_endpoint: Option<String>,
    #[arg(long, env = "PI_CRM_BACKUP_S3_REGION", default_value = "us-east-1")]
    pub backup_s3_region: String,
    #[arg(long, env = "PI_CRM_BACKUP_S3_ACCESS_KEY_ID")]
    pub backup_s3_access_key_id: Option<String>,
    /// Set it in the environment, not on the command line, where `ps` would show it.
    #[arg(
        long,
        env = "PI_CRM_BACKUP_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub backup_s3_secret_access_key: Option<String>,
    /// Encrypts the copies that leave the machine; a restore from them needs it. Keep it
    /// somewhere safe, away from the Pi. Set it in the environment.
    #[arg(long, env = "PI_CRM_BACKUP_PASSPHRASE", hide_env_values = true)]
    pub backup_passphrase: Option<String>,
}

impl BackupCopies {
    /// The bucket's connection settings; the bucket and folder come from `url`.
    fn s3(&self, url: &str) -> anyhow::Result<Option<integrations::offsite::S3Config>> {
        let (Some(key_id), Some(secret)) = (
            &self.backup_s3_access_key_id,
            &self.backup_s3_secret_access_key,
        ) else {
            return Ok(None);
        };
        let (bucket, prefix) = integrations::offsite::parse_s3_url(url)?;
        Ok(Some(integrations::offsite::S3Config {
            bucket,
            prefix,
            endpoint: self.backup_s3_endpoint.clone(),
            region: self.backup_s3_region.clone(),
            access_key_id: key_id.clone(),
            secret_access_key: secret.clone().into(),
            retries: 5,
        }))
    }

    fn passphrase(&self) -> Option<integrations::offsite::SecretString> {
        self.backup_passphrase
            .as_ref()
            .filter(|p| !p.is_empty())
            .map(|p| p.clone().into())
    }

    /// Puts the destinations into `settings`, refusing an off-site copy that would leave
    /// unencrypted or could not be made.
    pub fn apply(&self, settings: &mut app::Settings) -> anyhow::Result<()> {
        settings.backup_copy_to = self.backup_copy_to.clone();
        settings.backup_keep_days = self.backup_keep_days.max(1);
        let Some(url) = &self.backup_s3 else {
            return Ok(());
        };
        let Some(s3) = self.s3(url)? else {
            bail!(
                "PI_CRM_BACKUP_S3 is set but the bucket's key is not: set PI_CRM_BACKUP_S3_ACCESS_KEY_ID and PI_CRM_BACKUP_S3_SECRET_ACCESS_KEY"
            );
        };
        let Some(passphrase) = self.passphrase() else {
            bail!(
                "PI_CRM_BACKUP_S3 is set but PI_CRM_BACKUP_PASSPHRASE is not: copies that leave the Pi are encrypted with a passphrase you keep (a restore from the bucket needs it)"
            );
        };
        if self
            .backup_passphrase
            .as_deref()
            .unwrap_or("")
            .chars()
            .count()
            < 12
        {
            bail!(
                "PI_CRM_BACKUP_PASSPHRASE is too short: use at least 12 characters (four random words work well) and keep it away from the Pi"
            );
        }
        settings.backup_offsite = Some(app::settings::Offsite { s3, passphrase });
        Ok(())
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (required, so it never shows in `ps`).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApikeyCommand {
    /// Create a key; it is printed once, alone, as the last line.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        label: String,
        /// Comma-separated, e.g. workspaces:read,workspaces:write.
        #[arg(long)]
        scopes: String,
    },
}

fn tls_source(args: &ServeArgs) -> Option<crate::tls::TlsSource> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ if args.tls_self_signed => {
            let mut names = vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "pi-crm.local".to_owned(),
            ];
            if let Some(host) = args
                .bind
                .rsplit_once(':')
                .map(|(h, _)| h.trim_matches(['[', ']']).to_owned())
                && !host.is_empty()
                && host != "0.0.0.0"
                && !names.contains(&host)
            {
                names.push(host);
            }
            names.extend(
                args.tls_names
                    .iter()
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty()),
            );
            Some(crate::tls::TlsSource::SelfSigned { names })
        }
        _ => None,
    }
}

fn settings(cli: &Cli) -> app::Settings {
    let mut settings = app::Settings::new(cli.data_dir.clone());
    settings.secret_key = std::env::var("PI_CRM_SECRET_KEY").ok();
    settings
}

fn open(cli: &Cli) -> anyhow::Result<app::App> {
    open_with(cli, settings(cli))
}

fn open_with(cli: &Cli, settings: app::Settings) -> anyhow::Result<app::App> {
    app::App::open(settings)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| {
            format!(
                "could not open the data directory {}",
                cli.data_dir.display()
            )
        })
}

fn read_password() -> anyhow::Result<String> {
    let mut buf = String::new();
    std::io::stdin()
        .read_to_string(&mut buf)
        .context("could not read the password from standard input")?;
    // Only the line ending the shell or `echo` adds is removed; the password is kept exactly.
    let password = buf.strip_suffix('\n').unwrap_or(&buf);
    let password = password.strip_suffix('\r').unwrap_or(password);
    Ok(password.to_owned())
}

fn user_error(e: app::AppError) -> anyhow::Error {
    match e {
        app::AppError::Validation(v) => anyhow::anyhow!("{}: {}", v.field, v.message),
        other => anyhow::anyhow!("{other}"),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Outgoing HTTPS (the backup bucket) speaks rustls with ring, like the server.
    crate::tls::install_crypto();
    match &cli.command {
        Command::Serve(args) => {
            let mut settings = settings(&cli);
            settings.session_idle = Duration::from_secs(args.session_idle_minutes.max(1) * 60);
            settings.mail_poll_interval = Duration::from_secs(args.mail_poll_seconds.max(10));
            settings.public_url = args
                .public_url
                .as_deref()
                .map(|u| u.trim().trim_end_matches('/').to_owned())
                .filter(|u| !u.is_empty());
            settings.session_absolute =
                Duration::from_secs(args.session_absolute_hours.max(1) * 3600);
            args.backup.apply(&mut settings)?;
            let web = web::WebConfig {
                api_per_minute: args.api_rate_per_minute,
                login_per_ip_per_minute: args.login_rate_per_minute,
                ..web::WebConfig::default()
            };
            crate::serve::run(crate::serve::ServeOptions {
                settings,
                web,
                bind: args.bind.clone(),
                housekeeping_cron: args.housekeeping_cron.clone(),
                backup_cron: args.backup_cron.clone(),
                tls: tls_source(args),
            })
            .await
        }
        Command::Migrate => {
            let app = open(&cli)?;
            let pending = app
                .db()
                .pending_migrations()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "database {} is up to date ({pending} pending)",
                app.db().path().display()
            );
            Ok(())
        }
        Command::User(UserCommand::Add {
            username,
            display_name,
            password_stdin,
        }) => {
            if !password_stdin {
                bail!(
                    "pass --password-stdin and send the password on standard input, e.g. `printf '%s' \"$PW\" | pi-crm user add --username NAME --password-stdin`"
                );
            }
            let password = read_password()?;
            let app = open(&cli)?;
            let user = app::accounts::add_user(
                &app,
                app::accounts::NewUser {
                    username,
                    display_name: display_name.as_deref(),
                    password: &password,
                },
            )
            .map_err(user_error)?;
            println!("added user {} (id {})", user.username, user.id);
            Ok(())
        }
        Command::Apikey(ApikeyCommand::Create {
            username,
            label,
            scopes,
        }) => {
            let app = open(&cli)?;
            let created = app::api_keys::create_for_username(&app, username, label, scopes)
                .map_err(user_error)?;
            println!(
                "created API key '{}' for {} with scopes {}; it is shown once, store it now:",
                created.key.label,
                username,
                created.key.scopes.to_list()
            );
            println!("{}", created.secret);
            Ok(())
        }
        Command::Import {
            workspace,
            file,
            mapping,
            policy,
            overwrite,
            create_fields,
            dry_run,
        } => {
            let app = open(&cli)?;
            let mapping = if mapping == "auto" {
                app::imports::Mapping::Auto
            } else {
                let text = std::fs::read_to_string(mapping)
                    .with_context(|| format!("cannot read the mapping file {mapping}"))?;
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&text).with_context(|| {
                        format!("{mapping} is not a JSON object from column header to target")
                    })?;
                app::imports::Mapping::ByHeader(
                    object
                        .into_iter()
                        .map(|(k, v)| (k, v.as_str().unwrap_or("skip").to_owned()))
                        .collect(),
                )
            };
            let options = app::imports::RunOptions {
                mapping,
                policy: domain::import_job::DuplicatePolicy::parse(policy)
                    .map_err(|m| anyhow::anyhow!("--policy: {m}"))?,
                overwrite: *overwrite,
                create_fields: *create_fields,
                dry_run: *dry_run,
                ..Default::default()
            };
            let ws = domain::ids::WorkspaceId(*workspace);
            let caller = app::imports::cli_caller(&app, ws).map_err(user_error)?;
            // The shell's file is copied in, like an upload; the original is never touched.
            let incoming = app::imports::incoming_path(&app).map_err(user_error)?;
            std::fs::copy(file, &incoming)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "import.csv".into());
            let started = std::time::Instant::now();
            let record = tokio::task::spawn_blocking(move || {
                let (record, _) = app::imports::upload(&app, &caller, ws, &name, &incoming)?;
                app::imports::run_now(&app, &caller, record.id, options)
            })
            .await?
            .map_err(user_error)?;
            let c = record.counts;
            println!(
                "import {} {}{}: {} new, {} updated, {} skipped, {} failed ({} rows in {:.1} s)",
                record.id,
                record.status.as_str(),
                if record.dry_run {
                    " (dry run: nothing changed)"
                } else {
                    ""
                },
                c.created,
                c.updated,
                c.skipped,
                c.failed,
                record.total_rows,
                started.elapsed().as_secs_f64()
            );
            if c.failed > 0 {
                println!(
                    "failed rows: GET /api/v1/imports/{}/failures.csv, or the import's page",
                    record.id
                );
            }
            if let Some(error) = record.error {
                bail!("{error}");
            }
            Ok(())
        }
        Command::Seed {
            username,
            workspace,
            contacts,
            seed,
        } => {
            let app = open(&cli)?;
            let user = app::accounts::find_user(&app, username).map_err(|_| {
                anyhow::anyhow!(
                    "there is no user named '{username}'; add one with `pi-crm user add`"
                )
            })?;
            let caller = app::Caller {
                user_id: user.id,
                actor: domain::audit::Actor::Cli,
                ip: None,
            };
            let existing = app::workspaces::all_active(&app, user.id)
                .map_err(user_error)?
                .into_iter()
                .find(|w| w.name.as_str().eq_ignore_ascii_case(workspace));
            let ws = match existing {
                Some(ws) => ws,
                None => app::workspaces::create(
                    &app,
                    &caller,
                    app::workspaces::CreateWorkspace {
                        name: workspace.clone(),
                        ..Default::default()
                    },
                )
                .map_err(user_error)?,
            };
            let started = std::time::Instant::now();
            let report =
                app::seed::contacts(&app, &caller, ws.id, *contacts, *seed).map_err(user_error)?;
            println!(
                "seeded {} contacts into workspace {} ('{}') in {:.1} s; contact with the long log: {}",
                report.contacts,
                ws.id,
                ws.name.as_str(),
                started.elapsed().as_secs_f64(),
                report
                    .long_log_contact
                    .map(|c| c.to_string())
                    .unwrap_or_default()
            );
            Ok(())
        }
        Command::Backup { to, copies } => {
            let mut settings = settings(&cli);
            copies.apply(&mut settings)?;
            let app = open_with(&cli, settings)?;
            let to = to.clone();
            let report = tokio::task::spawn_blocking(move || {
                app::backup::take(&app, domain::audit::Actor::Cli, to.as_deref(), "cli")
            })
            .await?
            .map_err(user_error)?;
            println!(
                "backup written: {} ({:.1} MiB, {} tables, {} ms)",
                report.path.display(),
                report.size_bytes as f64 / 1_048_576.0,
                report.row_counts.len(),
                report.duration_ms
            );
            Ok(())
        }
        Command::Restore {
            archive,
            force,
            copies,
        } => {
            // Never under a running server, even with --force: its open connections would keep
            // writing to the old files.
            let _lock = crate::serve::DataDirLock::acquire(&cli.data_dir).map_err(|_| {
                anyhow::anyhow!(
                    "a running pi-crm server holds {}: stop it first, then restore",
                    cli.data_dir.display()
                )
            })?;
            let key_from_env =
                std::env::var("PI_CRM_SECRET_KEY").is_ok_and(|k| !k.trim().is_empty());
            let access = app::backup::offsite::Access {
                s3: copies.s3("s3://any")?,
                passphrase: copies.passphrase(),
            };
            let (source, data_dir, force) = (archive.clone(), cli.data_dir.clone(), *force);
            let aside = tokio::task::spawn_blocking(move || {
                // An encrypted or remote copy is fetched and decrypted next to the data first.
                let work = data_dir.join(".fetching");
                let result = app::backup::offsite::fetch(&source, &access, &work)
                    .and_then(|plain| app::backup::restore(&plain, &data_dir, force, key_from_env));
                let _ = std::fs::remove_dir_all(&work);
                result
            })
            .await?
            .map_err(user_error)?;
            // Opening applies any newer migrations, as the server would at start.
            let app = open(&cli)?;
            let check = app
                .db()
                .integrity_check()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "restored {} into {} (integrity: {check})",
                archive,
                cli.data_dir.display()
            );
            if let Some(aside) = aside {
                println!("the data that was there is kept in {}", aside.display());
            }
            Ok(())
        }
        Command::Housekeeping => {
            let app = open(&cli)?;
            let report = app::housekeeping::run(&app).map_err(user_error)?;
            println!(
                "housekeeping done: {} expired session(s) removed",
                report.expired_sessions_removed
            );
            Ok(())
        }
    }
}
