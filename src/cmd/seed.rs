//! `closegate-engine seed`: build a book of record from a seed pack (embedded, or `--pack-dir`),
//! optionally replaying a simulated operating history through the engine actions.
//!
//! Never loses data: a database that holds anything is refused unless `--force`, and the new
//! database is built in a temporary file beside the target and renamed over it only when
//! complete, so a failed or interrupted seed leaves the old database as it was.

use super::LoadedPolicy;
use crate::cli::{Cli, SeedArgs};
use crate::engine::{history, seeding};
use crate::exit::ExitStatus;
use crate::seed::SeedPack;
use crate::store::{Durability, Store, StoreError};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// What `seed` built.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The pack.
    pub pack: SeedPack,
    /// The policy used.
    pub policy: LoadedPolicy,
    /// History replay report, if any.
    pub history: Option<history::HistoryReport>,
    /// Audit head after seeding.
    pub head: Option<(u64, String)>,
    /// Entries in the pack.
    pub entries: usize,
}

/// Parses `180d` (or `180`) into days.
pub fn parse_days(s: &str) -> Result<u32> {
    let digits = s.strip_suffix('d').unwrap_or(s);
    let days: u32 = digits
        .parse()
        .ok()
        .filter(|d| (1..=3660).contains(d))
        .with_context(|| {
            format!("--history `{s}` is not a number of days like `180d` (1 to 3660)")
        })?;
    Ok(days)
}

/// Loads the pack (embedded name or directory) and the policy to seed with: `--policy` when
/// given explicitly, else the pack's own `policy.yaml`; then checks the pack against it.
pub fn load_pack(
    pack: &str,
    pack_dir: Option<&Path>,
    cli_policy: Option<&Path>,
) -> Result<(SeedPack, LoadedPolicy), ExitStatus> {
    let loaded = match pack_dir {
        Some(dir) => crate::seed::load_dir(dir),
        None => crate::seed::load_embedded(pack),
    };
    let pack = match loaded {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitStatus::Error);
        }
    };
    let policy = match cli_policy {
        Some(p) => super::load_policy(Some(p))?,
        None => super::load_reported(pack.policy_name.clone(), pack.policy_src.clone())?,
    };
    let problems = crate::seed::check(&pack, &policy.policy);
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("error: {p}");
        }
        eprintln!(
            "error: seed pack `{}` has {} problem(s)",
            pack.name,
            problems.len()
        );
        return Err(ExitStatus::CheckFailed);
    }
    Ok((pack, policy))
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Builds the database at `db` (refusing to replace one holding data unless `force`).
pub fn build(
    db: &Path,
    pack: SeedPack,
    policy: LoadedPolicy,
    history_days: Option<u32>,
    force: bool,
) -> Result<Seeded> {
    if db.exists() && !force {
        match Store::open_existing(db) {
            Ok(s) if s.is_empty()? => {}
            Ok(_) => bail!(
                "`{}` already holds data; pass --force to replace it (the old database is replaced only once the new one is complete)",
                db.display()
            ),
            Err(e @ StoreError::Foreign { .. }) => {
                return Err(anyhow::Error::new(e)).context("refusing to replace it; pass --force")
            }
            Err(e) => return Err(anyhow::Error::new(e)),
        }
    }
    let dir = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".seed-")
        .suffix(".db")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a temporary file in `{}`", dir.display()))?;
    let tmp_path = tmp.path().to_path_buf();
    // SQLite creates the file itself; keep only the unique name.
    drop(tmp);
    let result = (|| -> Result<Seeded> {
        let mut store = Store::open(&tmp_path)?;
        store.set_durability(Durability::Normal)?;
        let policy_src = policy.text();
        store.transaction(|tx| {
            seeding::seed(tx, &pack, &policy.policy, &policy.name, &policy_src)
        })?;
        let report = match history_days {
            Some(days) => {
                let registry = store.read(seeding::registry)?;
                Some(history::replay(
                    &mut store,
                    &policy.policy,
                    &policy.name,
                    &policy_src,
                    &registry,
                    pack.seeded_at,
                    days,
                )?)
            }
            None => None,
        };
        let head = store.audit_head()?;
        let entries = pack.entries.len();
        drop(store);
        Ok(Seeded {
            pack,
            policy,
            history: report,
            head,
            entries,
        })
    })();
    let seeded = match result {
        Ok(s) => s,
        Err(e) => {
            for p in [
                tmp_path.clone(),
                sidecar(&tmp_path, "-wal"),
                sidecar(&tmp_path, "-shm"),
            ] {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
    };
    for p in [sidecar(db, "-wal"), sidecar(db, "-shm")] {
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove `{}`", p.display()))?;
        }
    }
    std::fs::rename(&tmp_path, db)
        .with_context(|| format!("cannot move the new database to `{}`", db.display()))?;
    Ok(seeded)
}

/// Runs `seed`.
pub fn run(cli: &Cli, args: &SeedArgs) -> Result<ExitStatus> {
    let history_days = args.history.as_deref().map(parse_days).transpose()?;
    let (pack, policy) =
        match load_pack(&args.pack, args.pack_dir.as_deref(), cli.policy.as_deref()) {
            Ok(x) => x,
            Err(status) => return Ok(status),
        };
    let s = build(&cli.db(), pack, policy, history_days, args.force)?;
    if !cli.quiet {
        println!(
            "seeded `{}` from pack `{}` (content sha256 {}): {} entries, policy {}",
            cli.db().display(),
            s.pack.name,
            s.pack.content_hash,
            s.entries,
            s.policy.policy.sha256
        );
        if let Some(h) = &s.history {
            println!(
                "history: {} days replayed, {} entries imported, {} audit events",
                h.days, h.entries, h.events
            );
        }
        match &s.head {
            Some((seq, hash)) => println!("audit head: {seq}:{hash}"),
            None => println!("audit head: empty log"),
        }
    }
    Ok(ExitStatus::Ok)
}
