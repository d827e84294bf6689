//! `closegate-engine audit verify|tail|append-synthetic`: open the store, run the chain
//! verifier or read the tail, render text or JSON. Exit 0 intact, 2 broken, 1 could not run.
//! `append-synthetic` is hidden test support (see `audit::synthetic`). Must not modify events.

use crate::audit::chain::{Verifier, VerifyReport};
use crate::audit::synthetic;
use crate::cli::{AuditArgs, AuditCommand, Cli, OutputFormat};
use crate::exit::ExitStatus;
use crate::store::{Store, StoreError};
use anyhow::{bail, Context, Result};
use std::io::Write;

/// Runs an `audit` subcommand.
pub fn run(cli: &Cli, args: &AuditArgs) -> ExitStatus {
    let out = match &args.command {
        AuditCommand::Verify {
            expect_head,
            format,
        } => verify(cli, expect_head.as_deref(), *format),
        AuditCommand::Tail { n, format } => tail(cli, *n, *format),
        AuditCommand::AppendSynthetic {
            count,
            batch,
            id_prefix,
            pause_us,
        } => append_synthetic(cli, *count, *batch, id_prefix, *pause_us),
    };
    out.unwrap_or_else(|e| super::report_error(&e))
}

/// Parses `SEQ:HASH`.
fn parse_head(s: &str) -> Result<(u64, String)> {
    let (seq, hash) = s
        .split_once(':')
        .with_context(|| format!("--expect-head `{s}` is not SEQ:HASH"))?;
    let seq: u64 = seq
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .with_context(|| format!("--expect-head: `{seq}` is not a seq (an integer ≥ 1)"))?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("--expect-head: `{hash}` is not a sha256 hash (64 hex digits)");
    }
    Ok((seq, hash.to_ascii_lowercase()))
}

fn open(cli: &Cli) -> Result<Store> {
    Store::open_existing(&cli.db()).map_err(|e| match e {
        StoreError::Missing { .. } => anyhow::Error::new(e),
        other => anyhow::Error::new(other).context(format!("cannot read `{}`", cli.db().display())),
    })
}

fn verify(cli: &Cli, expect_head: Option<&str>, format: OutputFormat) -> Result<ExitStatus> {
    let head = expect_head.map(parse_head).transpose()?;
    let store = open(cli)?;
    let mut v = Verifier::new().with_policies(store.policy_documents()?);
    if let Some((seq, hash)) = &head {
        v = v.expect_head(*seq, hash);
    }
    let report = store.verify(v)?;
    let mut stdout = std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &report)?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => write_text(&mut stdout, &report, cli.quiet)?,
    }
    Ok(if report.ok {
        ExitStatus::Ok
    } else {
        ExitStatus::CheckFailed
    })
}

fn write_text(w: &mut impl Write, r: &VerifyReport, quiet: bool) -> std::io::Result<()> {
    match r.first_problem() {
        None => {
            if !quiet {
                writeln!(
                    w,
                    "audit log intact: {} events, head seq {} hash {}",
                    r.events, r.head_seq, r.head_hash
                )?;
            }
        }
        Some(first) => {
            let at = first.seq.map_or("-".to_string(), |s| s.to_string());
            writeln!(
                w,
                "audit log broken: first bad seq {at} ({}): {}",
                first.kind, first.message
            )?;
            writeln!(
                w,
                "{} problem(s) in {} events (head seq {})",
                r.problems_total, r.events, r.head_seq
            )?;
            for p in r.problems.iter().skip(1).take(20) {
                writeln!(w, "  {}: {}", p.kind, p.message)?;
            }
        }
    }
    Ok(())
}

fn tail(cli: &Cli, n: u64, format: OutputFormat) -> Result<ExitStatus> {
    let store = open(cli)?;
    let events = store.tail(n)?;
    let mut stdout = std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &events)?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => {
            for e in &events {
                let b = &e.body;
                let subject = b
                    .subject
                    .match_id
                    .as_deref()
                    .or(b.subject.request_id.as_deref())
                    .or(b.subject.entry_ids.first().map(String::as_str))
                    .unwrap_or("-");
                let amount = match (&b.amount, &b.currency) {
                    (Some(a), Some(c)) => format!("{a} {c}"),
                    (Some(a), None) => a.clone(),
                    _ => "-".into(),
                };
                let codes: Vec<&str> = b.reasons.iter().map(|r| r.code.as_str()).collect();
                writeln!(
                    stdout,
                    "{:>6} {} {:<18} {:<16} {:<16} {:<16} {:<12} {:>14} {} {}",
                    e.seq,
                    b.ts,
                    b.event_type.as_str(),
                    b.actor_id,
                    b.action,
                    b.decision,
                    subject,
                    amount,
                    if codes.is_empty() {
                        "-".to_string()
                    } else {
                        codes.join(",")
                    },
                    e.hash.get(..12).unwrap_or(&e.hash)
                )?;
            }
        }
    }
    Ok(ExitStatus::Ok)
}

fn append_synthetic(
    cli: &Cli,
    count: u64,
    batch: u64,
    prefix: &str,
    pause_us: u64,
) -> Result<ExitStatus> {
    let mut store = Store::open(&cli.db())?;
    let batch = batch.max(1);
    let mut i = 1;
    while i <= count {
        let end = (i + batch - 1).min(count);
        store.transaction(|tx| {
            for k in i..=end {
                tx.append_event(synthetic::event(prefix, k))?;
            }
            Ok::<_, StoreError>(())
        })?;
        i = end + 1;
        if pause_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(pause_us));
        }
    }
    if !cli.quiet {
        println!("appended {count} synthetic events");
    }
    Ok(ExitStatus::Ok)
}
