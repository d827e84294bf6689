//! Operator commands: `match propose|confirm|reject|flag`, `period close|reopen`, `approve`,
//! `adjust` and `state`. Each action goes through the engine (gate, state change, one audit
//! event, one transaction). Identity is explicit (`--actor`) and recorded with the identity
//! source `cli-operator`, so an auditor can tell operator actions from agent traffic.
//!
//! Exit codes: 0 when the gate allowed or escalated the action, 2 when it denied it, 1 when the
//! command could not run.

use crate::cli::{
    ActorArgs, AdjustCmdArgs, ApproveCmdArgs, Cli, Format, MatchCmdArgs, MatchCommand,
    PeriodCmdArgs, PeriodCommand, ReconCmdArgs, ReconCommand, StateArgs,
};
use crate::engine::{self, seeding, ActionResult, Env};
use crate::exit::ExitStatus;
use crate::gate::decision::Outcome;
use crate::store::Store;
use anyhow::{Context, Result};
use serde_json::{json, Value};

/// Identity source recorded for actions taken through these commands.
pub const OPERATOR_SOURCE: &str = "cli-operator";

fn open(cli: &Cli) -> Result<Store> {
    Store::open_existing(&cli.db()).map_err(anyhow::Error::new)
}

fn act(cli: &Cli, who: &ActorArgs, action: &str, args: Value) -> Result<ExitStatus> {
    let loaded = match super::load_policy(cli.policy.as_deref()) {
        Ok(x) => x,
        Err(status) => return Ok(status),
    };
    let src = loaded.text();
    let mut store = open(cli)?;
    let registry = store.read(seeding::registry)?;
    let scope = registry
        .iter()
        .find(|a| a.id == who.actor)
        .and_then(|a| a.entities.clone());
    let env = Env {
        policy: &loaded.policy,
        policy_name: &loaded.name,
        policy_src: &src,
        actor: who.actor.clone(),
        identity_source: OPERATOR_SOURCE.to_string(),
        ts: chrono::Utc::now(),
        actor_scope: scope,
        gate: crate::gate::evaluate,
    };
    let r = engine::execute(&mut store, &env, action, &args)
        .with_context(|| format!("cannot record `{action}` in `{}`", cli.db().display()))?;
    print_result(&r, who.format);
    Ok(match r.decision.outcome {
        Outcome::Deny => ExitStatus::CheckFailed,
        _ => ExitStatus::Ok,
    })
}

fn print_result(r: &ActionResult, format: Format) {
    // A refused malformed request records why in the event; the operator sees it too.
    let detail = r
        .event
        .body
        .rationale
        .as_deref()
        .and_then(|t| t.strip_prefix("refused: "));
    if format == Format::Json {
        let v = json!({
            "decision": r.decision,
            "detail": detail,
            "created": r.created,
            "event": {"seq": r.event.seq, "event_type": r.event.body.event_type, "hash": r.event.hash},
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    let d = &r.decision;
    let extra = match d.outcome {
        Outcome::RequireApproval {
            approvals_remaining,
        } => {
            format!(" ({approvals_remaining} approval(s) remaining)")
        }
        _ => String::new(),
    };
    println!("{} [{}]{extra}", d.outcome.as_str(), d.tier.as_str());
    for reason in &d.reasons {
        let at = reason.pointer.as_deref().unwrap_or("built-in");
        println!("  {} ({at}): {}", reason.code.as_str(), reason.clause);
    }
    if let Some(d) = detail {
        eprintln!("error: {d}");
    }
    if let Some(id) = &r.created {
        println!("created: {id}");
    }
    println!(
        "audit: seq {} {} {}",
        r.event.seq,
        r.event.body.event_type.as_str(),
        r.event.hash
    );
}

/// `match …`.
pub fn match_cmd(cli: &Cli, args: &MatchCmdArgs) -> Result<ExitStatus> {
    match &args.command {
        MatchCommand::Propose { class, gl, sl, who } => act(
            cli,
            who,
            "propose_match",
            json!({"class": class, "gl": gl, "sl": sl}),
        ),
        MatchCommand::Confirm {
            match_id,
            rationale,
            who,
        } => act(
            cli,
            who,
            "confirm_match",
            json!({"match": match_id, "rationale": rationale}),
        ),
        MatchCommand::Reject { match_id, who } => {
            act(cli, who, "reject_match", json!({"match": match_id}))
        }
        MatchCommand::Flag { entries, note, who } => act(
            cli,
            who,
            "flag_exception",
            json!({"entries": entries, "note": note}),
        ),
    }
}

/// `period …`.
pub fn period_cmd(cli: &Cli, args: &PeriodCmdArgs) -> Result<ExitStatus> {
    match &args.command {
        PeriodCommand::Close {
            entity,
            period,
            who,
        } => act(
            cli,
            who,
            "close_period",
            json!({"entity": entity, "period": period}),
        ),
        PeriodCommand::Reopen {
            entity,
            period,
            who,
        } => act(
            cli,
            who,
            "reopen_period",
            json!({"entity": entity, "period": period}),
        ),
    }
}

/// `approve`.
pub fn approve_cmd(cli: &Cli, args: &ApproveCmdArgs) -> Result<ExitStatus> {
    act(
        cli,
        &args.who,
        "approve_action",
        json!({"request": args.request_id, "rationale": args.rationale}),
    )
}

/// `adjust`.
pub fn adjust_cmd(cli: &Cli, a: &AdjustCmdArgs) -> Result<ExitStatus> {
    act(
        cli,
        &a.who,
        "post_adjustment",
        json!({"entity": a.entity, "accounts": a.accounts, "amount": a.amount,
               "currency": a.currency, "date": a.date, "rationale": a.rationale}),
    )
}

/// `state`.
pub fn state(cli: &Cli, args: &StateArgs) -> Result<ExitStatus> {
    let store = open(cli)?;
    let (entries, matches, open_requests, head) = store.read(|tx| {
        let entries = tx.count_entries_by_status()?;
        let matches = tx.count_matches_by_state()?;
        let open = tx
            .list_requests(Some(crate::store::RequestState::Open))?
            .len();
        let head = tx.audit_head()?;
        Ok::<_, crate::store::StoreError>((entries, matches, open, head))
    })?;
    if args.format == Format::Json {
        let v = json!({
            "entries": entries.iter().map(|(s, n)| (s.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "matches": matches.iter().map(|(s, n)| (s.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "open_requests": open_requests,
            "audit_head": head.as_ref().map(|(seq, hash)| json!({"seq": seq, "hash": hash})),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(ExitStatus::Ok);
    }
    println!("entries:");
    for (s, n) in &entries {
        println!("  {:<18} {n}", s.as_str());
    }
    println!("matches:");
    for (s, n) in &matches {
        println!("  {:<18} {n}", s.as_str());
    }
    println!("open requests:       {open_requests}");
    match head {
        Some((seq, hash)) => println!("audit head:          {seq}:{hash}"),
        None => println!("audit head:          empty log"),
    }
    Ok(ExitStatus::Ok)
}

/// `recon run`.
pub fn recon_cmd(cli: &Cli, args: &ReconCmdArgs) -> Result<ExitStatus> {
    let ReconCommand::Run { format } = &args.command;
    let loaded = match super::load_policy(cli.policy.as_deref()) {
        Ok(x) => x,
        Err(status) => return Ok(status),
    };
    let src = loaded.text();
    let mut store = open(cli)?;
    let env = engine::recon_run::ReconRunEnv {
        policy: &loaded.policy,
        policy_name: &loaded.name,
        policy_src: &src,
        ts: chrono::Utc::now(),
        gate: crate::gate::evaluate,
    };
    let report = engine::recon_run::run(&mut store, &env, None)
        .with_context(|| format!("recon run on `{}` failed", cli.db().display()))?;
    if *format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return Ok(ExitStatus::Ok);
    }
    println!("unmatched entries before: {}", report.unmatched_before);
    println!("proposed by class:");
    for (class, n) in &report.proposed {
        println!("  {class:<14} {n}");
    }
    println!("decisions:");
    for (k, n) in &report.decisions {
        println!("  {k:<32} {n}");
    }
    println!("flagged ambiguous:        {}", report.ambiguous_flagged);
    println!("left unmatched:           {}", report.unmatched_after);
    Ok(ExitStatus::Ok)
}
