//! `closegate-engine lock acquire|release|list`: named advisory locks with a TTL, recording the
//! holder's pid. A holder that dies leaves its row; `sweeper run` releases it once expired.
//! Must not take over a lock held by someone else, even an expired one (that is the sweeper's
//! job, and it is recorded).

use super::outbox::new_token;
use crate::cli::{Cli, LockArgs, LockCommand};
use crate::evidence::notify::ts;
use crate::exit::ExitStatus;
use crate::store::{LockRow, Store, StoreError};
use anyhow::{bail, Context, Result};
use chrono::{Duration, Utc};

/// Runs `lock …`.
pub fn run(cli: &Cli, args: &LockArgs) -> Result<ExitStatus> {
    let mut store = Store::open_existing(&cli.db())?;
    match &args.command {
        LockCommand::Acquire {
            name,
            ttl_secs,
            holder,
            hold_secs,
        } => {
            let now = Utc::now();
            let pid = std::process::id();
            let row = LockRow {
                name: name.clone(),
                holder: holder.clone().unwrap_or_else(|| format!("pid:{pid}")),
                token: new_token(name),
                pid: Some(pid),
                acquired_at: ts(now),
                expires_at: ts(now + Duration::seconds(i64::try_from(*ttl_secs).unwrap_or(1))),
            };
            let taken = store.transaction(|tx| {
                if let Some(l) = tx.get_lock(name)? {
                    return Ok::<_, StoreError>(Some(l));
                }
                tx.insert_lock(&row)?;
                Ok(None)
            })?;
            if let Some(l) = taken {
                let expired = l.expires_at <= ts(now);
                bail!(
                    "lock `{name}` is held by `{}` (pid {}) until {}{}",
                    l.holder,
                    l.pid.map_or("-".into(), |p| p.to_string()),
                    l.expires_at,
                    if expired {
                        "; it has expired: `closegate-engine sweeper run` releases it"
                    } else {
                        ""
                    }
                );
            }
            println!("{}", row.token);
            if let Some(secs) = hold_secs {
                use std::io::Write;
                let _ = std::io::stdout().flush();
                std::thread::sleep(std::time::Duration::from_secs(*secs));
                store.transaction(|tx| tx.delete_lock(name, &row.token))?;
            }
            Ok(ExitStatus::Ok)
        }
        LockCommand::Release { name, token } => {
            let ok = store
                .transaction(|tx| tx.delete_lock(name, token))
                .with_context(|| format!("cannot release lock `{name}`"))?;
            if !ok {
                bail!("lock `{name}` is not held with that token");
            }
            Ok(ExitStatus::Ok)
        }
        LockCommand::List => {
            for l in store.read(|tx| tx.list_locks())? {
                println!(
                    "{}\t{}\tpid {}\t{} .. {}",
                    l.name,
                    l.holder,
                    l.pid.map_or("-".into(), |p| p.to_string()),
                    l.acquired_at,
                    l.expires_at
                );
            }
            Ok(ExitStatus::Ok)
        }
    }
}
