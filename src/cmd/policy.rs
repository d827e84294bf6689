//! `closegate-engine policy explain`: prints the policy in force as a table an auditor can
//! read beside `policy.yaml`: its name, base currency, sha256 (the `policy_version` on every
//! decision), and one row per rule with its RFC 6901 pointer, key values and verbatim clause;
//! then the matching parameters and fx rates.
//!
//! Deterministic: rows follow the file's rule order (fx rates sorted by currency and date),
//! column widths depend only on the content, nothing reads the clock or environment.

use crate::cli::Format;
use crate::exit::ExitStatus;
use crate::policy::model::{Clause, Policy, Strategy};
use serde_json::{json, Value};
use std::path::Path;

/// One rule of the explain table.
struct Row {
    pointer: String,
    rule: String,
    /// Reason codes the gate cites with this rule's pointer (docs/gate.md).
    reasons: &'static str,
    values: String,
    clause: String,
}

/// The reason codes that cite a rule, by rule name (docs/gate.md).
fn reasons_of(rule: &str) -> &'static str {
    match rule {
        "segregation_of_duties" => "SOD_SAME_ACTOR, LLM_CANNOT_APPROVE",
        "llm_proposals" => "LLM_PROPOSAL_REQUIRES_HUMAN",
        "materiality" | "materiality override" => "MATERIALITY_OVER_THRESHOLD",
        "always_human_account" => "ACCOUNT_FORCED_HUMAN",
        "rationale" => "MISSING_RATIONALE",
        "dual_approval" => "DUAL_APPROVAL_REQUIRED, DUPLICATE_APPROVER",
        "closed_periods" => "PERIOD_CLOSED",
        r if r.starts_with("strategy ") => "STRATEGY_REQUIRES_HUMAN",
        _ => "-",
    }
}

fn row(rule: &str, values: String, clause: &Clause) -> Row {
    Row {
        pointer: clause.pointer.clone(),
        rule: rule.to_string(),
        reasons: reasons_of(rule),
        values,
        clause: clause.text.clone(),
    }
}

fn strategy_values(s: &Strategy, base: &str) -> String {
    match (s.auto_confirm, s.auto_confirm_limit) {
        (true, Some(l)) => format!("auto_confirm=true, limit={l} {base}"),
        (true, None) => "auto_confirm=true, no limit".to_string(),
        (false, _) => "auto_confirm=false".to_string(),
    }
}

fn rows(p: &Policy) -> Vec<Row> {
    let base = p.base_currency.code();
    let mut v = vec![
        row(
            "segregation_of_duties",
            "-".into(),
            &p.segregation_of_duties,
        ),
        row("llm_proposals", "-".into(), &p.llm_proposals),
        row(
            "materiality",
            format!("threshold={} {base}", p.materiality.threshold),
            &p.materiality.clause,
        ),
    ];
    for o in &p.materiality.entity_overrides {
        let cur = p
            .entity(&o.entity)
            .map_or_else(String::new, |e| format!(" {}", e.currency));
        v.push(row(
            "materiality override",
            format!("entity={}, threshold={}{cur}", o.entity, o.threshold),
            &o.clause,
        ));
    }
    for a in &p.always_human_accounts {
        v.push(row(
            "always_human_account",
            format!("account={} ({})", a.account, a.name),
            &a.clause,
        ));
    }
    for (name, s) in [
        ("exact_match", &p.strategies.exact_match),
        ("fuzzy_match", &p.strategies.fuzzy_match),
        ("multi_to_one", &p.strategies.multi_to_one),
    ] {
        v.push(row(
            &format!("strategy {name}"),
            strategy_values(s, base),
            &s.clause,
        ));
    }
    v.push(row(
        "rationale",
        format!("required_above={} {base}", p.rationale.required_above),
        &p.rationale.clause,
    ));
    v.push(row("dual_approval", "approvers=2".into(), &p.dual_approval));
    let periods: Vec<String> = p
        .closed_periods
        .periods
        .iter()
        .map(|c| format!("{} {}", c.entity, c.period))
        .collect();
    v.push(row(
        "closed_periods",
        if periods.is_empty() {
            "none".into()
        } else {
            periods.join(", ")
        },
        &p.closed_periods.clause,
    ));
    if let Some(x) = &p.exceptions {
        v.push(row(
            "exceptions",
            format!(
                "escalate_after={} business days (sweeper)",
                x.escalate_after_business_days
            ),
            &x.clause,
        ));
    }
    v
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
fn table(header: &[&str], body: &[Vec<String>]) -> String {
    let n = header.len();
    let mut width = vec![0usize; n];
    for r in std::iter::once(header.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .chain(body.iter().cloned())
    {
        for (i, c) in r.iter().enumerate().take(n) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(width[i] - c.chars().count() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.iter().map(|s| s.to_string()).collect());
    for r in body {
        line(r.clone());
    }
    out
}

/// The text form of `policy explain`.
pub fn render_text(source: &str, p: &Policy) -> String {
    let mut out = String::new();
    let entities: Vec<String> = p
        .entities
        .iter()
        .map(|e| format!("{} ({}, {})", e.id, e.currency, e.timezone))
        .collect();
    out.push_str(&table(
        &["KEY", "VALUE"],
        &[
            vec!["policy".into(), p.name.clone()],
            vec!["source".into(), source.to_string()],
            vec!["schema version".into(), p.version.to_string()],
            vec!["base currency".into(), p.base_currency.to_string()],
            vec!["policy_version".into(), format!("sha256:{}", p.sha256)],
            vec!["entities".into(), entities.join(", ")],
        ],
    ));
    out.push_str("\nRULES\n");
    let body: Vec<Vec<String>> = rows(p)
        .into_iter()
        .map(|r| vec![r.pointer, r.rule, r.reasons.to_string(), r.values, r.clause])
        .collect();
    out.push_str(&table(
        &["POINTER", "RULE", "REASON CODES", "VALUES", "CLAUSE"],
        &body,
    ));
    let m = &p.matching;
    out.push_str("\nMATCHING (/matching)\n");
    out.push_str(&table(
        &["PARAMETER", "VALUE"],
        &[
            vec!["date_window_days".into(), m.date_window_days.to_string()],
            vec![
                "fuzzy_amount_tolerance".into(),
                format!("{} {}", m.fuzzy_amount_tolerance, p.base_currency),
            ],
            vec![
                "fuzzy_amount_tolerance_pct".into(),
                format!("{}%", m.fuzzy_amount_tolerance_pct),
            ],
            vec![
                "multi_sum_tolerance".into(),
                format!("{} {}", m.multi_sum_tolerance, p.base_currency),
            ],
            vec!["multi_max_group".into(), m.multi_max_group.to_string()],
            vec![
                "counterparty_similarity".into(),
                m.counterparty_similarity.to_string(),
            ],
        ],
    ));
    out.push_str(&format!(
        "\nFX RATES (/fx_rates, {} per unit, latest as_of <= entry date applies)\n",
        p.base_currency
    ));
    if p.fx_rates.is_empty() {
        out.push_str("none\n");
    } else {
        let body: Vec<Vec<String>> = p
            .fx_rates
            .iter()
            .map(|r| {
                vec![
                    r.currency.to_string(),
                    r.as_of.to_string(),
                    r.rate.to_string(),
                ]
            })
            .collect();
        out.push_str(&table(&["CURRENCY", "AS_OF", "RATE"], &body));
    }
    out
}

/// The JSON form of `policy explain`. Decimals are strings.
pub fn render_json(source: &str, p: &Policy) -> Value {
    let m = &p.matching;
    json!({
        "name": p.name,
        "source": source,
        "version": p.version,
        "base_currency": p.base_currency.code(),
        "policy_version": p.sha256,
        "entities": p.entities.iter().map(|e| json!({
            "id": e.id, "currency": e.currency.code(), "timezone": e.timezone,
        })).collect::<Vec<_>>(),
        "rules": rows(p).into_iter().map(|r| json!({
            "pointer": r.pointer, "rule": r.rule,
            "reason_codes": r.reasons.split(", ").filter(|c| *c != "-").collect::<Vec<_>>(),
            "values": r.values, "clause": r.clause,
        })).collect::<Vec<_>>(),
        "matching": {
            "date_window_days": m.date_window_days,
            "fuzzy_amount_tolerance": m.fuzzy_amount_tolerance.to_string(),
            "fuzzy_amount_tolerance_pct": m.fuzzy_amount_tolerance_pct.to_string(),
            "multi_sum_tolerance": m.multi_sum_tolerance.to_string(),
            "multi_max_group": m.multi_max_group,
            "counterparty_similarity": m.counterparty_similarity,
        },
        "fx_rates": p.fx_rates.iter().map(|r| json!({
            "currency": r.currency.code(), "as_of": r.as_of.to_string(), "rate": r.rate.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// Runs `policy explain`. An invalid policy prints its diagnostics and exits 2.
pub fn explain(policy: Option<&Path>, format: Format) -> anyhow::Result<ExitStatus> {
    let (source, p) = match super::require_policy(policy) {
        Ok(x) => x,
        Err(status) => return Ok(status),
    };
    match format {
        Format::Text => print!("{}", render_text(&source, &p)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render_json(&source, &p))?
        ),
    }
    Ok(ExitStatus::Ok)
}
