//! `llmspell audit verify`: checks the security hook's audit log in the
//! persisted store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use llmspell_hooks::builtin::{
    AuditProblem, AuditVerification, DEFAULT_AUDIT_NAMESPACE, SecurityHook,
};
use llmspell_storage::SledBackend;
use serde_json::{Value, json};

const EXIT_CODES: &str = "\
Exit codes:
  0  the log is intact (a store with no audit records says so, and exits 0)
  1  the log is broken: a record was changed, removed or cannot be read,
     records are missing from the tail, or the head is missing or does not
     match the last record (or its seal, with --seal-key-file)
  2  bad usage, or the store cannot be opened: it does not exist, is locked
     by a running llmspell, or is damaged";

/// `llmspell audit ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the security hook's audit log: every record and the head
    ///
    /// Walks the records from the first, checks each one's hash and its
    /// link to the one before, then compares the head (the newest record's
    /// number and hash, stored beside the records and written with each
    /// one) with the last record, and reports the first problem. The head
    /// catches records removed from the end of the log. Whoever can rewrite
    /// the whole store, records and head together, can still leave a
    /// shorter log that checks out, unless the head is sealed with a key
    /// kept outside the store (pass it with --seal-key-file) or the head's
    /// record number and hash were noted elsewhere to compare with later.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
}

/// `llmspell audit verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Where the store is kept: it is DIR/db, as for `llmspell run`
    /// [default: `[storage] data_dir` of llmspell.toml, or .llmspell]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The audit namespace the security hook writes to
    #[arg(long, value_name = "NS", default_value = DEFAULT_AUDIT_NAMESPACE)]
    namespace: String,
    /// Print one JSON object instead of a summary
    #[arg(long)]
    json: bool,
    /// A file whose bytes (all of them, a final newline included) are the
    /// key the hook seals the head with; the seal is checked only when this
    /// is given
    #[arg(long, value_name = "FILE")]
    seal_key_file: Option<PathBuf>,
}

pub(crate) fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => verify(&args),
    }
}

/// Opens an existing store; never creates one where there was none.
fn open_store(path: &Path) -> anyhow::Result<SledBackend> {
    let empty = match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "no store at {}: nothing was persisted there (check --data-dir; `llmspell run --data-dir DIR` keeps its store in DIR/db)",
            path.display()
        ),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read the store directory {}", path.display()));
        }
    };
    if empty {
        bail!(
            "no store at {}: the directory is empty (check --data-dir)",
            path.display()
        );
    }
    // sled has no read-only mode: the store is opened as usual (which takes
    // its lock), and verification only reads.
    Ok(SledBackend::open(path)?)
}

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let path = crate::config::data_dir(args.data_dir.as_deref())?.join("db");
    let backend = open_store(&path)?;
    let mut builder = SecurityHook::builder()
        .audit(Arc::new(backend))
        .audit_namespace(&args.namespace);
    if let Some(file) = &args.seal_key_file {
        let key = std::fs::read(file)
            .with_context(|| format!("cannot read the seal key file {}", file.display()))?;
        builder = builder.audit_seal_key(key);
    }
    let hook = builder
        .build()
        .context("the options given (--namespace, --seal-key-file) are not valid")?;
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(hook.verify())
        .with_context(|| format!("cannot read the audit log in {}", path.display()))?;
    let summary = summary(&report, &args.namespace, &path);
    if args.json {
        let mut out = json!({
            "store": path.display().to_string(),
            "namespace": args.namespace,
            "intact": report.is_intact(),
            "seal_checked": args.seal_key_file.is_some(),
        });
        if let (Value::Object(out), Value::Object(fields)) =
            (&mut out, serde_json::to_value(&report)?)
        {
            out.extend(fields);
            out.insert(
                "first_bad_seq".to_owned(),
                json!(report.problem.as_ref().and_then(AuditProblem::seq)),
            );
            out.insert("message".to_owned(), json!(summary));
        }
        out!("{out}");
    } else {
        out!("{summary}");
    }
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One or two lines saying what verification found, and where.
fn summary(report: &AuditVerification, namespace: &str, path: &Path) -> String {
    let n = report.verified;
    let records = if n == 1 { "record" } else { "records" };
    let place = format!("namespace {namespace:?} of {}", path.display());
    match (&report.problem, &report.head) {
        (None, None) => {
            format!("no audit records in {place}: nothing to verify (an empty log is intact)")
        }
        (None, Some(hash)) => format!(
            "audit log intact: {n} {records} checked in {place}\nhead: record {}, hash {hash}",
            n.saturating_sub(1)
        ),
        (Some(problem), _) => format!(
            "audit log broken: {problem}\n{n} {records} checked before the problem in {place}"
        ),
    }
}
