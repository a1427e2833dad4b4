//! The `leadline` binary: parses arguments, loads the configuration, builds
//! one request and sends it to the running daemon or answers it in-process
//! (`leadline::daemon::answer`), or runs the daemon, ingest and the outbox
//! sender. No rules live here; [`output`] prints, [`login`] signs mail
//! accounts in.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use leadline::config::Config;
use leadline::daemon::{ImportRequest, Request};
use leadline::store::embedded::StoreOptions;

/// `println!` through [`output::write_out`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_out(&format!($($arg)*), true)
    };
}

/// `print!` through [`output::write_out`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_out(&format!($($arg)*), false)
    };
}

/// `eprintln!` through [`output::write_err`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::write_err(&format!($($arg)*))
    };
}

mod login;
mod output;

use login::{login, logout};
use output::{answered, print_answer, print_digest, print_import, print_tick, shell};

/// sled copies tree nodes on write; mimalloc makes those allocations cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// leadline: the sales process from lead to paid invoice, from your shell,
/// chat and mailbox.
#[derive(Debug, Parser)]
#[command(name = "leadline", version, about)]
struct Cli {
    /// The data folder (sled store); default: store.path from the config.
    #[arg(long, global = true, env = "LEADLINE_DATA")]
    data: Option<PathBuf>,
    /// The configuration file; default: the embedded one.
    #[arg(long, global = true, env = "LEADLINE_CONFIG")]
    config: Option<PathBuf>,
    /// Act as this team member; default: team.default_user.
    #[arg(long = "as", global = true, env = "LEADLINE_USER")]
    actor: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    /// How `run` and `ingest` log: text (for people) or json (one object a line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Run as if it were this moment (RFC 3339, e.g.
    /// 2026-12-01T08:00:00+01:00): for tick, digest and checks by hand.
    #[arg(long, global = true)]
    now: Option<DateTime<Utc>>,
    #[command(subcommand)]
    command: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Run one command, e.g. leadline cmd '/qualify L-1001'.
    Cmd {
        /// The command; several words are joined with spaces.
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Run the daemon: control socket, scheduler, mail, outbox; in a
    /// terminal it also takes commands typed there. Stop with Ctrl-C/SIGTERM.
    Run,
    /// Type commands, read replies, one per line, until end of input
    /// (through the daemon when one runs).
    Shell,
    /// The running daemon's parts and their health.
    Status,
    /// Write a backup of the whole store to FILE (one checksummed file),
    /// while commands go on; through the daemon when one runs.
    Backup {
        /// The file to write (replaced whole once it is complete).
        file: PathBuf,
    },
    /// Export every record (or the kinds named) with all its fields, lines,
    /// products and history, one file per table.
    Export {
        /// Kinds to export (lead, quote, activity, product, history...);
        /// all when none.
        kinds: Vec<String>,
        /// csv (for spreadsheets), json or jsonl.
        #[arg(long, default_value = "csv")]
        format: String,
        /// The folder to write to.
        #[arg(long, default_value = "leadline-export")]
        out: PathBuf,
    },
    /// Write the document of a quote, order or invoice: a PDF/A (for
    /// invoices and credit notes with the Factur-X e-invoice inside), and
    /// for public customers (leitweg_id) the XRechnung XML beside it.
    Document {
        /// The record: Q-1001 (its latest revision), Q-1001-2, ORD-1001, INV-1001.
        id: String,
        /// The PDF file to write; default: its name (Rechnung-INV-1001.pdf)
        /// in the current folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the e-invoice XML (Factur-X CII) to this file.
        #[arg(long)]
        xml: Option<PathBuf>,
    },
    /// Restore a backup into the store of --data, which must be empty
    /// (or --force); the daemon must be stopped.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace what the store holds.
        #[arg(long)]
        force: bool,
    },
    /// Print the manual page (roff), as the Debian package installs it.
    #[command(hide = true)]
    Man,
    /// Print shell completions: bash, zsh, fish, elvish or powershell.
    Completions { shell: clap_complete::Shell },
    /// Check a configuration file without starting anything: what it sets
    /// up, or the one line that is wrong (exit 2).
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Run every scheduler job due now (or at --now): the overdue sweep and
    /// the daily digests.
    Tick,
    /// Print the digest that would be sent to a team member now (or at --now).
    Digest {
        owner: String,
        /// Print the HTML version instead of the text.
        #[arg(long)]
        html: bool,
    },
    /// Pull flagged mail from every configured IMAP account onto timelines:
    /// continuously (IDLE where offered, else polling) until SIGINT/SIGTERM.
    Ingest {
        /// One pass, then exit.
        #[arg(long)]
        once: bool,
    },
    /// The outbox: list what waits, failed or is uncertain; `send --once`
    /// sends what is due.
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxAction>,
        /// Also list sent mail.
        #[arg(long)]
        all: bool,
    },
    /// Sign a mail account in with OAuth2 (Microsoft 365, Gmail): shows an
    /// address and a code to enter in a browser anywhere, waits for the
    /// approval and keeps the sign-in (owner-only) in the secrets folder
    /// (`[secrets] path`, by default DATA/oauth).
    Login {
        /// The mail account's name (`[[mail.accounts]] name`).
        account: String,
        /// Sign in through a browser (authorization code with PKCE; the
        /// default for Google, whose device sign-in grants no mail access).
        #[arg(long, conflicts_with = "device")]
        browser: bool,
        /// Sign in with a code shown here (device flow; the default for
        /// Microsoft and custom providers).
        #[arg(long)]
        device: bool,
    },
    /// Forget a mail account's OAuth2 sign-in.
    Logout {
        /// The mail account's name.
        account: String,
    },
    /// Check the store (read every record) or rebuild one that will not
    /// open from what it still holds. Stop the daemon first.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// Import records from a table.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Print a one-time sign-in link to the web view for a team member
    /// (valid 15 minutes, once); the same as /web in chat.
    WebLink {
        /// The team member.
        member: String,
    },
    /// API tokens for the HTTP API: new NAME (shown once), revoke N, list.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Make a token for a team member; it is shown once, only its hash is kept.
    New { member: String },
    /// Revoke token number N.
    Revoke { number: u64 },
    /// The tokens there are (numbers and members, never the tokens).
    List,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs of the long-running parts go to standard output; secrets are never
/// in them (only account names and server answers are).
fn init_logs(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(|| leadline::redact::Redacting(std::io::stdout()))
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[derive(Debug, Subcommand)]
enum OutboxAction {
    /// Send every waiting mail that is due.
    Send {
        /// One run, then exit (the daemon runs it continuously).
        #[arg(long)]
        once: bool,
    },
}

#[derive(Debug, Subcommand)]
enum StoreAction {
    /// Open the store and read every key; says what is wrong, if anything.
    Check,
    /// Rebuild a store that will not open: the damaged folder is kept
    /// beside it (DATA.damaged-TIME) and every key that can still be read
    /// is copied into a fresh store.
    Repair,
    /// Copy every record, history, timeline, outbox and inbox entry and
    /// counter from one store into another, empty one: `sled:DIR` (an
    /// embedded store) or `postgres` (the database of [store], its
    /// connection string from LEADLINE_DATABASE_URL, url_env or
    /// url_file). Stop the daemons first.
    Copy {
        #[arg(long, value_name = "sled:DIR|postgres")]
        from: String,
        #[arg(long, value_name = "sled:DIR|postgres")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
enum ImportWhat {
    /// Leads from a CSV file with a header row (P-2).
    Leads {
        file: PathBuf,
        /// Map a column to a lead field: --map "Firma=company". Repeatable.
        #[arg(long = "map", value_name = "COLUMN=FIELD")]
        map: Vec<String>,
    },
}

/// Invalid input found before any command runs (an acting user who is not
/// on the team): exit code 2, like an invalid command.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InvalidInput(String);

/// Exit codes: 0 done, 1 refused or not found, 2 invalid input, 3 broken
/// configuration or store, 4 a server (mail, sign-in provider) could not
/// be reached.
fn main() -> ExitCode {
    // Whatever leadline writes (store, tokens, backups, exports) is for its
    // owner only, whatever umask it was started with.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            errln!("leadline: {e:#}");
            let unreachable = matches!(
                e.downcast_ref::<leadline::mail::MailError>(),
                Some(leadline::mail::MailError::Connect { .. })
            );
            if e.downcast_ref::<InvalidInput>().is_some() {
                ExitCode::from(2)
            } else if unreachable {
                ExitCode::from(4)
            } else {
                ExitCode::from(3)
            }
        }
    }
}

/// `leadline check-config FILE`.
///
/// Fails (exit 2) with the configuration's one-line error.
fn check_config(file: &Path) -> anyhow::Result<ExitCode> {
    let config =
        Config::load(Some(file)).map_err(|e| anyhow::Error::new(InvalidInput(e.to_string())))?;
    let on = |b: bool| if b { "on" } else { "off" };
    outln!(
        "{}: ok: {} team member(s) in {}, {} mail account(s), SMTP {}, chat {}, sweep '{}', digest '{}'",
        file.display(),
        config.team.members.len(),
        config.team.timezone,
        config.mail.accounts.len(),
        on(config.mail.smtp.is_some()),
        on(config.chat.token_env.is_some() || config.chat.token_file.is_some()),
        config.scheduler.sweep.text(),
        config.scheduler.digest.text()
    );
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if matches!(cli.command, Action::Run | Action::Ingest { once: false }) {
        init_logs(cli.log_format);
    }
    if let Action::CheckConfig { file } = &cli.command {
        return check_config(file);
    }
    match &cli.command {
        Action::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut page)?;
            std::io::Write::write_all(&mut std::io::stdout(), &page)?;
            return Ok(ExitCode::SUCCESS);
        }
        Action::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "leadline", &mut std::io::stdout());
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let config = Config::load(cli.config.as_deref())?;
    let actor = resolve_actor(&config, cli.actor.as_deref())?;
    let now = || cli.now.unwrap_or_else(Utc::now);
    let path = cli
        .data
        .clone()
        .unwrap_or_else(|| config.store.path.clone());
    let secrets = config.secrets_dir(&path);
    // Sign-ins live in the secrets folder, daemon or not.
    match &cli.command {
        Action::Login {
            account,
            browser,
            device,
        } => return login(&config, &secrets, account, *browser, *device, cli.json),
        Action::Logout { account } => return logout(&config, &secrets, account),
        _ => {}
    }
    let mut options = StoreOptions::new(path.clone());
    options.fsync_every_ms = Some(config.store.fsync_every_ms);
    if let Action::Store { action } = &cli.command {
        if let StoreAction::Copy { from, to } = action {
            return store_copy(&config, &options, from, to, cli.json);
        }
        if config.store.backend == leadline::config::StoreBackend::Postgres {
            anyhow::bail!("store check and repair are for the embedded store; PostgreSQL has its own tools (pg_amcheck, backups of the database)");
        }
        return store_action(action, &options, now(), cli.json);
    }
    // One dispatch: the request is built once, then sent to the running
    // daemon, or answered in-process on the store.
    let daemon = leadline::daemon::client::Client::connect(&path);
    if let Some(kind) = Dispatch::of(&cli.command) {
        let mut to = match daemon {
            Some(client) => Opened::Daemon(client),
            None if matches!(kind, Dispatch::Status) => {
                outln!("no leadline daemon runs on {}", path.display());
                return Ok(ExitCode::from(1));
            }
            None => open_waiting(&config, &options, &secrets, true)?,
        };
        // Through the daemon, or in-process; when the daemon stops before
        // running a request, that request (and the rest) runs in-process.
        let (cfg, opts, keys) = (config.clone(), options.clone(), secrets.clone());
        let mut answer = move |req: Request| -> anyhow::Result<serde_json::Value> {
            loop {
                match &mut to {
                    Opened::Core(core) => return Ok(leadline::daemon::answer(core, req)),
                    Opened::Daemon(client) => match client.request(&req) {
                        Err(e) if e.kind() == std::io::ErrorKind::NotConnected => {
                            to = open_waiting(&cfg, &opts, &keys, true)?;
                        }
                        other => return Ok(other?),
                    },
                }
            }
        };
        let base = Request {
            actor: Some(actor.clone()),
            now: cli.now,
            data: cli.json,
            ..Request::default()
        };
        return dispatch(&cli, kind, base, &config, &mut answer);
    }
    if daemon.is_some() {
        if matches!(cli.command, Action::Run) {
            anyhow::bail!("a leadline daemon already runs on {}", path.display());
        }
        anyhow::bail!(
            "a leadline daemon runs on {}: it does this itself; stop it first to run this by hand",
            path.display()
        );
    }
    if let Action::Restore { file, force } = &cli.command {
        // A damaged or too new file is refused before a store is made.
        leadline::store::backup::verify(file, leadline::store::embedded::SCHEMA)?;
        let mut options = options.clone();
        options.restoring = true;
        let core = match open_waiting(&config, &options, &secrets, false)? {
            Opened::Core(core) => core,
            Opened::Daemon(_) => anyhow::bail!("a leadline daemon runs on {}", path.display()),
        };
        let summary = core.restore(file, *force)?;
        if cli.json {
            outln!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            outln!(
                "restored {} into {}: {} (the same counts as the backup); OAuth sign-ins are not in backups: run leadline login for each OAuth account",
                file.display(),
                path.display(),
                output::backup_summary(&summary)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let core = match open_waiting(&config, &options, &secrets, false)? {
        Opened::Core(core) => core,
        Opened::Daemon(_) => anyhow::bail!("a leadline daemon runs on {}", path.display()),
    };
    match &cli.command {
        Action::Ingest { once } => {
            if config.mail.accounts.is_empty() {
                anyhow::bail!("no [[mail.accounts]] are configured");
            }
            if !once {
                // Watch every account until SIGINT or SIGTERM.
                runtime()?.block_on(async {
                    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
                    let watchers = config.mail.accounts.iter().map(|a| {
                        leadline::mail::imap::watch_account(&core, a, stop_rx.clone(), None)
                    });
                    let all = futures_util::future::join_all(watchers);
                    tokio::pin!(all);
                    tokio::select! {
                        _ = &mut all => {}
                        _ = leadline::daemon::shutdown_signal() => {
                            let _ = stop_tx.send(true);
                            all.await;
                        }
                    }
                });
                return Ok(ExitCode::SUCCESS);
            }
            let reports = runtime()?.block_on(leadline::mail::imap::ingest_once(&core, &actor));
            let failed = reports.iter().any(|r| !r.errors.is_empty());
            if cli.json {
                outln!("{}", serde_json::to_string_pretty(&reports)?);
            } else {
                for r in &reports {
                    outln!(
                        "{}: fetched {}, matched {}, unmatched {}, automatic {}, already known {}, failed {}",
                        r.account, r.fetched, r.matched, r.unmatched, r.automatic, r.known, r.failed
                    );
                    for e in &r.errors {
                        outln!("  error: {e}");
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Action::Outbox {
            action: Some(OutboxAction::Send { once }),
            ..
        } => {
            if !once {
                anyhow::bail!(
                    "leadline outbox send runs once with --once; leadline run keeps sending"
                );
            }
            let report = runtime()?.block_on(leadline::mail::smtp::send_once(&core, now()))?;
            if cli.json {
                outln!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                outln!(
                    "sent {}, deferred {}, failed {}, uncertain {}",
                    report.sent,
                    report.deferred,
                    report.failed,
                    report.uncertain
                );
                for e in &report.errors {
                    outln!("  {e}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Run => {
            let tty = std::io::stdin().is_terminal();
            leadline::daemon::run(core, &path, tty, cli.config.clone())?;
            Ok(ExitCode::SUCCESS)
        }
        _ => anyhow::bail!("this subcommand is answered through the one dispatch"),
    }
}

/// Checks that `file` is a regular file of at most `limit` bytes, before
/// anything of it is imported.
///
/// Fails (invalid input) when it is not, or cannot be read.
fn import_file(file: &Path, limit: u64) -> anyhow::Result<std::fs::File> {
    let opened =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let meta = opened
        .metadata()
        .with_context(|| format!("cannot read {}", file.display()))?;
    if !meta.is_file() {
        return Err(InvalidInput(format!(
            "{} is not a file; import reads a table saved as a file",
            file.display()
        ))
        .into());
    }
    if meta.len() > limit {
        return Err(InvalidInput(format!(
            "{} is larger than {} MiB, the most one import takes; split it into smaller files",
            file.display(),
            limit / 1024 / 1024
        ))
        .into());
    }
    Ok(opened)
}

/// Rows per import request.
const IMPORT_GROUP: usize = 500;

/// What [`open_waiting`] got: the store, or the daemon that now has it.
enum Opened {
    Core(leadline::core::Leadline),
    Daemon(leadline::daemon::client::Client),
}

/// How long a command waits for a store another leadline process holds:
/// a one-shot command finishing, a daemon starting or stopping.
const STORE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens the store; while another process holds it, waits up to
/// [`STORE_WAIT`] for it to be free, or (with `via_daemon`) for a daemon
/// that starts meanwhile to answer on its socket.
///
/// Fails when the store cannot be opened, or is still held after the wait.
fn open_waiting(
    config: &Config,
    options: &StoreOptions,
    secrets: &Path,
    via_daemon: bool,
) -> anyhow::Result<Opened> {
    let deadline = std::time::Instant::now() + STORE_WAIT;
    loop {
        let held = match open_core(config, options, secrets) {
            Ok(core) => return Ok(Opened::Core(core)),
            Err(e) => match e.downcast_ref::<leadline::store::StoreError>() {
                Some(leadline::store::StoreError::Locked { .. }) => e,
                _ => return Err(e),
            },
        };
        if via_daemon {
            if let Some(client) = leadline::daemon::client::Client::connect(&options.path) {
                return Ok(Opened::Daemon(client));
            }
        }
        if std::time::Instant::now() >= deadline {
            return Err(held);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Opens the store and the core on it.
///
/// Fails when the store cannot be opened.
fn open_core(
    config: &Config,
    options: &StoreOptions,
    secrets: &Path,
) -> anyhow::Result<leadline::core::Leadline> {
    let backend = open_backend(config, options)?;
    Ok(leadline::core::Leadline::open(
        backend,
        std::sync::Arc::new(config.clone()),
        secrets.to_path_buf(),
    )?)
}

/// Opens the configured backend: the embedded store in the data folder,
/// or PostgreSQL (`[store] backend = "postgres"`).
///
/// Fails when the store cannot be opened or the connection string is
/// missing.
fn open_backend(
    config: &Config,
    options: &StoreOptions,
) -> anyhow::Result<std::sync::Arc<dyn leadline::store::Backend>> {
    Ok(match config.store.backend {
        leadline::config::StoreBackend::Sled => leadline::store::open(options)?,
        leadline::config::StoreBackend::Postgres => {
            let mut pg = leadline::store::postgres::PgOptions::from_config(&config.store)
                .map_err(leadline::store::StoreError::Failed)?;
            pg.restoring = options.restoring;
            // The data folder still holds the control socket and the
            // OAuth sign-ins.
            std::fs::create_dir_all(&options.path).with_context(|| {
                format!("cannot make the data folder {}", options.path.display())
            })?;
            leadline::store::open_postgres(&pg)?
        }
    })
}

/// The subcommands that run the same through the daemon or in-process.
#[derive(Debug, Clone, Copy)]
enum Dispatch {
    Cmd,
    OutboxList,
    Shell,
    Status,
    Tick,
    Digest,
    Import,
    Backup,
    Export,
    Document,
    Access,
}

impl Dispatch {
    fn of(action: &Action) -> Option<Dispatch> {
        Some(match action {
            Action::Cmd { .. } => Dispatch::Cmd,
            Action::Outbox { action: None, .. } => Dispatch::OutboxList,
            Action::Shell => Dispatch::Shell,
            Action::Status => Dispatch::Status,
            Action::Tick => Dispatch::Tick,
            Action::Digest { .. } => Dispatch::Digest,
            Action::Import { .. } => Dispatch::Import,
            Action::Backup { .. } => Dispatch::Backup,
            Action::Export { .. } => Dispatch::Export,
            Action::Document { .. } => Dispatch::Document,
            Action::WebLink { .. } | Action::Token { .. } => Dispatch::Access,
            _ => return None,
        })
    }
}

/// Builds the request for the subcommand, has `answer` answer it, and
/// prints the answer.
fn dispatch(
    cli: &Cli,
    kind: Dispatch,
    base: Request,
    config: &Config,
    answer: &mut dyn FnMut(Request) -> anyhow::Result<serde_json::Value>,
) -> anyhow::Result<ExitCode> {
    let cmd = |line: &str| Request {
        cmd: Some(line.to_string()),
        ..base.clone()
    };
    match (kind, &cli.command) {
        (Dispatch::Cmd, Action::Cmd { text }) => {
            Ok(print_answer(&answer(cmd(&text.join(" ")))?, cli.json))
        }
        (Dispatch::OutboxList, Action::Outbox { all, .. }) => Ok(print_answer(
            &answer(cmd(if *all { "/outbox all" } else { "/outbox" }))?,
            cli.json,
        )),
        (Dispatch::Shell, _) => {
            shell(|line| {
                answer(cmd(line))
                    .map(|v| print_answer(&v, cli.json))
                    .map_err(std::io::Error::other)
            })?;
            Ok(ExitCode::SUCCESS)
        }
        (Dispatch::Access, action) => {
            use leadline::daemon::AccessRequest;
            let what = match action {
                Action::WebLink { member } => AccessRequest::WebLink {
                    member: member.clone(),
                },
                Action::Token {
                    action: TokenAction::New { member },
                } => AccessRequest::TokenNew {
                    member: member.clone(),
                },
                Action::Token {
                    action: TokenAction::Revoke { number },
                } => AccessRequest::TokenRevoke { number: *number },
                _ => AccessRequest::Tokens,
            };
            let v = answer(Request {
                access: Some(what),
                ..base
            })?;
            let code = output::print_answer(&v, cli.json);
            if !cli.json && v["ok"] == true {
                if let Some(link) = v["link"].as_str() {
                    outln!("{link}");
                }
                if let Some(token) = v["token"].as_str() {
                    outln!("{token}");
                    outln!("(shown once: keep it where the tool that uses it reads secrets)");
                }
            }
            Ok(code)
        }
        (Dispatch::Status, _) => {
            let v = answer(Request {
                status: true,
                ..Request::default()
            })?;
            outln!("{}", serde_json::to_string_pretty(&v["status"])?);
            Ok(ExitCode::SUCCESS)
        }
        (Dispatch::Tick, _) => {
            let v = answer(Request { tick: true, ..base })?;
            print_tick(&answered(v, "could not tick")?["report"], cli.json)
        }
        (Dispatch::Digest, Action::Digest { owner, html }) => {
            let v = answer(Request {
                digest: Some(owner.clone()),
                ..base
            })?;
            let d = answered(v, "could not make the digest")?;
            Ok(print_digest(&d, cli.json, *html))
        }
        (
            Dispatch::Import,
            Action::Import {
                what: ImportWhat::Leads { file, map },
            },
        ) => {
            let map = parse_mappings(map)?;
            // Read as it goes and sent a group of rows at a time (to the
            // daemon, or answered in-process), so the file is never whole
            // in memory; header and mapping are checked by the first group,
            // before any row is imported.
            let mut table =
                leadline::import::Table::open(import_file(file, leadline::daemon::MAX_IMPORT)?)
                    .map_err(|e| anyhow::anyhow!("could not import: {e}"))?;
            let mut report = leadline::import::ImportReport::default();
            let mut first = true;
            while let Some(rows) = table.rows(IMPORT_GROUP, &mut report.failed) {
                if !first && rows.is_empty() {
                    continue;
                }
                first = false;
                let v = answer(Request {
                    import_leads: Some(ImportRequest {
                        headers: table.headers.clone(),
                        rows,
                        map: map.clone(),
                        imported_before: report.imported.len(),
                    }),
                    ..base.clone()
                })?;
                let v = answered(v, "could not import")?;
                report.merge(serde_json::from_value(v["report"].clone())?);
            }
            report.notes.extend(table.notes());
            report.failed.sort_by_key(|(line, _)| *line);
            let text = report.render(&config.process);
            print_import(&serde_json::to_value(&report)?, &text, cli.json)
        }
        (Dispatch::Backup, Action::Backup { file }) => {
            let file = std::path::absolute(file)
                .with_context(|| format!("cannot use {}", file.display()))?;
            let started = std::time::Instant::now();
            let v = answer(Request {
                backup: Some(file.clone()),
                ..base
            })?;
            let v = answered(v, "could not back up")?;
            if cli.json {
                outln!("{}", serde_json::to_string_pretty(&v["backup"])?);
            } else {
                let summary: leadline::store::backup::Summary =
                    serde_json::from_value(v["backup"].clone())?;
                outln!(
                    "backup {}: {} in {:.1} s",
                    file.display(),
                    output::backup_summary(&summary),
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        (Dispatch::Export, Action::Export { kinds, format, out }) => {
            let dir = std::path::absolute(out)
                .with_context(|| format!("cannot use {}", out.display()))?;
            let v = answer(Request {
                export: Some(leadline::daemon::ExportRequest {
                    tables: kinds.clone(),
                    format: format.clone(),
                    dir,
                }),
                ..base
            })?;
            if v["ok"] != true && v["error"] == "invalid" {
                return Err(InvalidInput(v["message"].as_str().unwrap_or("").to_string()).into());
            }
            let v = answered(v, "could not export")?;
            if cli.json {
                outln!("{}", serde_json::to_string_pretty(&v["files"])?);
            } else {
                let files: Vec<leadline::export::Written> =
                    serde_json::from_value(v["files"].clone())?;
                for f in files {
                    outln!("{}: {} row(s)", f.file.display(), f.rows);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        (Dispatch::Document, Action::Document { id, out, xml }) => {
            let v = answer(Request {
                document: Some(id.clone()),
                ..base
            })?;
            if v["ok"] != true && matches!(v["error"].as_str(), Some("invalid" | "not_found")) {
                return Err(InvalidInput(v["message"].as_str().unwrap_or("").to_string()).into());
            }
            let v = answered(v, "could not make the document")?;
            output::write_document(&v["document"], out.as_deref(), xml.as_deref(), cli.json)
        }
        _ => anyhow::bail!("this subcommand does not run through the dispatch"),
    }
}

/// `leadline store copy --from SPEC --to SPEC`.
///
/// Fails when a store cannot be opened, the target is not empty, or the
/// copy's counts differ from the source's.
fn store_copy(
    config: &Config,
    options: &StoreOptions,
    from: &str,
    to: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    // Only the target may be an unfinished copy (it is made again).
    let open = |spec: &str,
                target: bool|
     -> anyhow::Result<(std::sync::Arc<dyn leadline::store::Backend>, PathBuf)> {
        if spec == "postgres" {
            let mut pg = leadline::store::postgres::PgOptions::from_config(&config.store)
                .map_err(leadline::store::StoreError::Failed)?;
            pg.restoring = target;
            let backend = leadline::store::open_postgres(&pg)?;
            let name = PathBuf::from(backend.location());
            return Ok((backend, name));
        }
        let Some(dir) = spec.strip_prefix("sled:").filter(|d| !d.is_empty()) else {
            return Err(InvalidInput(format!(
                "{spec}: give sled:DIR (an embedded store's folder) or postgres"
            ))
            .into());
        };
        let mut sled = options.clone();
        sled.path = PathBuf::from(dir);
        sled.restoring = target;
        Ok((leadline::store::open(&sled)?, sled.path))
    };
    if from == to {
        return Err(InvalidInput("--from and --to name the same store".to_string()).into());
    }
    let (source, source_name) = open(from, false)?;
    let (target, target_name) = open(to, true)?;
    let counts = leadline::store::backup::copy(source.as_ref(), target.as_ref(), &target_name)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&counts)?);
    } else {
        let what: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        outln!(
            "copied {} into {}: {} (the same counts as the source)",
            source_name.display(),
            target_name.display(),
            what.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `leadline store check|repair`.
fn store_action(
    action: &StoreAction,
    options: &StoreOptions,
    now: DateTime<Utc>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use leadline::store::embedded::repair;
    let (value, text, problems) = match action {
        StoreAction::Copy { .. } => anyhow::bail!("store copy runs on its own"),
        StoreAction::Check => {
            let report = repair::check(options)?;
            (
                serde_json::to_value(&report)?,
                report.render(),
                !report.unreadable.is_empty(),
            )
        }
        StoreAction::Repair => {
            let report = repair::repair(options, now)?;
            (
                serde_json::to_value(&report)?,
                report.render(),
                !report.check.unreadable.is_empty(),
            )
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        outln!("{text}");
    }
    Ok(if problems {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--map "Firma=company"` options as (column, field) pairs.
fn parse_mappings(map: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    map.iter()
        .map(|m| {
            m.split_once('=')
                .map(|(c, f)| (c.trim().to_string(), f.trim().to_string()))
                .with_context(|| format!("--map {m}: write COLUMN=FIELD"))
        })
        .collect()
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn resolve_actor(config: &Config, given: Option<&str>) -> anyhow::Result<String> {
    config
        .team
        .resolve_actor(given.unwrap_or(&config.team.default_user))
        .map_err(|e| InvalidInput(e).into())
}
