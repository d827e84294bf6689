//! `README.md` of the bundle: the auditor-facing index. Renders the command line and parameters,
//! the generation time (the only wall-clock field), population counts, the sample seed and the
//! ranking algorithm, the chain verification result, the sha256 of the other six files, the
//! control mapping, what is not covered, and how to re-perform every number with shell tools
//! (`sha256sum`, `sqlite3`, `sort`, `python3`).
//!
//! Pure: a function of [`ReadmeInput`] only. No I/O, no clock.

use std::fmt::Write;

/// The chain verification result as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainResult {
    /// No problems.
    pub ok: bool,
    /// Events in the whole log.
    pub events: u64,
    /// Head seq of the whole log.
    pub head_seq: u64,
    /// Head hash of the whole log.
    pub head_hash: String,
    /// Problems found.
    pub problems_total: u64,
    /// The first problem, rendered.
    pub first_problem: Option<String>,
}

/// Materiality parameters used for the boundary population (for the re-derivation script).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundaryRule {
    /// Base currency code.
    pub base_currency: String,
    /// Base threshold (decimal string, major units).
    pub threshold: String,
    /// `(entity, currency, threshold)` overrides.
    pub overrides: Vec<(String, String, String)>,
    /// Always-human account numbers.
    pub always_human: Vec<String>,
}

/// Everything the README shows.
#[derive(Debug, Clone)]
pub struct ReadmeInput {
    /// The canonical command line.
    pub command_line: String,
    /// `(name, value)` parameters.
    pub params: Vec<(String, String)>,
    /// `closegate-engine` version.
    pub tool_version: String,
    /// Generation time (RFC 3339).
    pub generated_at: String,
    /// Where it came from: `--generated-at`, `SOURCE_DATE_EPOCH` or `wall clock`.
    pub generated_at_source: String,
    /// Window first day.
    pub since: String,
    /// Window last day.
    pub until: String,
    /// `UTC` or `+HH:MM`.
    pub tz: String,
    /// Window start, UTC, inclusive (`...Z`).
    pub start_utc: String,
    /// Window end, UTC, exclusive.
    pub end_utc: String,
    /// Database path as given.
    pub db: String,
    /// Policy display name and sha256.
    pub policy: (String, String),
    /// Events in the window.
    pub events_in_window: usize,
    /// First and last seq in the window.
    pub seq_range: Option<(u64, u64)>,
    /// Events in the window by type.
    pub by_type: Vec<(String, u64)>,
    /// Boundary population size.
    pub boundary_population: usize,
    /// Boundary events not in the random sample.
    pub boundary_eligible: usize,
    /// Random rows drawn.
    pub random_n: usize,
    /// Boundary rows drawn.
    pub boundary_n: usize,
    /// Sample size per kind.
    pub sample_size: usize,
    /// The seed.
    pub seed: String,
    /// `(seq, hash)` of the head at `until`.
    pub head_at_until: (u64, String),
    /// Boundary parameters.
    pub boundary_rule: BoundaryRule,
    /// Chain verification.
    pub chain: ChainResult,
    /// `(file, sha256, bytes)` for the six other files.
    pub files: Vec<(String, String, usize)>,
    /// Actors listed.
    pub actors: usize,
    /// Actors that acted in the window without being in the registry.
    pub unregistered_actors: Vec<String>,
    /// Dead letters.
    pub dead_letters: usize,
    /// Sweeper runs in the window.
    pub sweeper_runs: usize,
    /// `--policy-path` (None: not given).
    pub policy_path: Option<String>,
    /// Why history was not examined.
    pub policy_history_note: Option<String>,
    /// Commits found.
    pub policy_commits: usize,
    /// Versions seen in the window.
    pub policy_versions_seen: usize,
    /// Unreviewed versions.
    pub unreviewed_versions: Vec<String>,
    /// Monitor runs, and coverage `(ok, fail, missing, regressions, unremediated)`.
    pub eval_runs: usize,
    /// Coverage counts.
    pub coverage: (usize, usize, usize, usize, usize),
    /// Source description of eval-runs.
    pub eval_source: String,
    /// Retention warning, if any.
    pub retention_warning: Option<String>,
}

fn w(out: &mut String, s: impl AsRef<str>) {
    out.push_str(s.as_ref());
    out.push('\n');
}

/// Renders the README.
pub fn render(r: &ReadmeInput) -> String {
    let mut o = String::new();
    w(&mut o, "# closegate-engine audit evidence bundle");
    w(&mut o, "");
    w(
        &mut o,
        format!(
            "Window **{} .. {}** (inclusive, day boundaries in `{}`): events with `ts >= {}` and `ts < {}`.",
            r.since, r.until, r.tz, r.start_utc, r.end_utc
        ),
    );
    w(&mut o, "");
    // Flags first: an auditor must not miss them.
    let mut flags = Vec::new();
    if !r.chain.ok {
        flags.push(format!(
            "**The audit chain is BROKEN**: {} problem(s); first: {}",
            r.chain.problems_total,
            r.chain.first_problem.as_deref().unwrap_or("-")
        ));
    }
    if !r.unreviewed_versions.is_empty() {
        flags.push(format!(
            "**Unreviewed policy**: {} `policy_version` value(s) in the log match no commit of the policy file: {}. See `policy-versions.json`.",
            r.unreviewed_versions.len(),
            r.unreviewed_versions.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(n) = &r.policy_history_note {
        flags.push(format!("**Policy history not examined**: {n}"));
    }
    if r.dead_letters > 0 {
        flags.push(format!(
            "**{} outbox dead letter(s)**: notifications that were never delivered. See `dead-letters.json`.",
            r.dead_letters
        ));
    }
    let (ok, fail, missing, regressions, unremediated) = r.coverage;
    if fail + missing > 0 {
        flags.push(format!(
            "**Monitor coverage gaps**: {fail} failing day(s), {missing} missing day(s), {unremediated} unremediated regression(s). See `eval-runs.json`."
        ));
    }
    if let Some(warn) = &r.retention_warning {
        flags.push(format!("**Retention**: {warn}"));
    }
    if r.random_n < r.sample_size {
        flags.push(format!(
            "**Small population**: only {} event(s) in the window, so the random sample is the whole population.",
            r.events_in_window
        ));
    }
    if r.boundary_n < r.sample_size {
        flags.push(format!(
            "**Small boundary population**: {} boundary event(s) not already in the random sample, so the boundary sample is all of them ({}).",
            r.boundary_eligible, r.boundary_n
        ));
    }
    if !r.unregistered_actors.is_empty() {
        flags.push(format!(
            "**Unregistered actors** acted in the window: {}. See `actors.json` (`in_registry: false`).",
            r.unregistered_actors.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    w(&mut o, "## Findings to read first");
    w(&mut o, "");
    if flags.is_empty() {
        w(&mut o, "None: the chain verifies, every policy version in the log matches a commit, there are no dead letters and no monitor gaps.");
    } else {
        for f in &flags {
            w(&mut o, format!("- {f}"));
        }
    }
    w(&mut o, "");

    w(&mut o, "## How this bundle was produced");
    w(&mut o, "");
    w(&mut o, "```sh");
    w(&mut o, &r.command_line);
    w(&mut o, "```");
    w(&mut o, "");
    w(
        &mut o,
        "(`--out` and `--force` are left out: they choose where the zip goes, not what is in it.)",
    );
    w(&mut o, "");
    w(&mut o, "| Parameter | Value |");
    w(&mut o, "|---|---|");
    for (k, v) in &r.params {
        w(&mut o, format!("| {k} | `{v}` |"));
    }
    w(
        &mut o,
        format!("| tool version | `closegate-engine {}` |", r.tool_version),
    );
    w(
        &mut o,
        format!(
            "| policy in force | `{}` (sha256 `{}`) |",
            r.policy.0, r.policy.1
        ),
    );
    w(
        &mut o,
        format!(
            "| generated at | `{}` (from {}; the only wall-clock value in the bundle) |",
            r.generated_at, r.generated_at_source
        ),
    );
    w(&mut o, "");
    w(
        &mut o,
        "The same database, parameters and generation time give a byte-identical zip.",
    );
    w(&mut o, "");

    w(&mut o, "## Files");
    w(&mut o, "");
    w(&mut o, "| File | What it holds | sha256 | bytes |");
    w(&mut o, "|---|---|---|---|");
    for (name, sha, len) in &r.files {
        w(
            &mut o,
            format!("| `{name}` | {} | `{sha}` | {len} |", describe(name)),
        );
    }
    w(&mut o, "");

    w(&mut o, "## Population and sample");
    w(&mut o, "");
    w(
        &mut o,
        format!(
            "- Audit events in the window: **{}**{}",
            r.events_in_window,
            r.seq_range
                .map(|(a, b)| format!(" (seq {a} .. {b})"))
                .unwrap_or_default()
        ),
    );
    for (t, n) in &r.by_type {
        w(&mut o, format!("  - `{t}`: {n}"));
    }
    w(&mut o, format!(
        "- Boundary population (above materiality or touching an always-human account): **{}**; {} of them not already in the random sample",
        r.boundary_population, r.boundary_eligible
    ));
    w(
        &mut o,
        format!(
            "- Random sample: **{}** of {} wanted{}",
            r.random_n,
            r.sample_size,
            if r.random_n < r.sample_size {
                " (population smaller than the sample: taken whole)"
            } else {
                ""
            }
        ),
    );
    w(
        &mut o,
        format!(
            "- Boundary sample: **{}** of {} wanted{}",
            r.boundary_n,
            r.sample_size,
            if r.boundary_n < r.sample_size {
                " (population smaller than the sample: taken whole)"
            } else {
                ""
            }
        ),
    );
    w(
        &mut o,
        format!(
            "- Actors listed: {}; dead letters: {}; sweeper runs in the window: {}",
            r.actors, r.dead_letters, r.sweeper_runs
        ),
    );
    w(&mut o, format!("- Monitor runs in the window: {} (source: {}); coverage {ok} OK, {fail} FAIL, {missing} MISSING day(s), {regressions} regression(s)", r.eval_runs, r.eval_source));
    w(&mut o, format!("- Policy file history: {} commit(s); {} `policy_version` value(s) in the window; {} unreviewed",
        r.policy_commits, r.policy_versions_seen, r.unreviewed_versions.len()));
    w(&mut o, "");
    w(&mut o, "### Sample selection (no RNG: sha256 only)");
    w(&mut o, "");
    w(&mut o, format!("- `head_hash_at_until` = hash of the event with the largest seq whose `ts` is before `{}`: seq {}, `{}`", r.end_utc, r.head_at_until.0, r.head_at_until.1));
    w(&mut o, format!("- `sample_seed = sha256(\"closegate-sample:\" || since || \":\" || until || \":\" || head_hash_at_until)` = `{}`", r.seed));
    w(&mut o, "- `rank(event) = sha256(sample_seed || \":\" || event.hash)`, all values lower-case hex text.");
    w(
        &mut o,
        format!(
            "- Random: the {} events of the window with the smallest rank.",
            r.sample_size
        ),
    );
    w(&mut o, format!("- Boundary: the {} boundary events with the smallest rank, leaving out those already in the random sample (so every row is a distinct event). `boundary_reason` says why each is a boundary event.", r.sample_size));
    let b = &r.boundary_rule;
    w(&mut o, format!(
        "- Boundary rule (from the policy in force): `amount_base` > {} {}; {}; or `accounts` contains {}. Amounts compare by absolute value.",
        b.base_currency, b.threshold,
        if b.overrides.is_empty() { "no entity overrides".to_string() } else {
            b.overrides.iter().map(|(e, c, t)| format!("for entity `{e}`, `amount` > {c} {t} when `currency` is {c} (instead of the base rule)")).collect::<Vec<_>>().join("; ")
        },
        b.always_human.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" or ")
    ));
    w(&mut o, "");

    w(&mut o, "## Audit-chain verification");
    w(&mut o, "");
    w(
        &mut o,
        format!(
            "- Result: **{}** ({} problem(s))",
            if r.chain.ok { "INTACT" } else { "BROKEN" },
            r.chain.problems_total
        ),
    );
    w(
        &mut o,
        format!(
            "- Events in the log: {}; head seq {}; head hash `{}`",
            r.chain.events, r.chain.head_seq, r.chain.head_hash
        ),
    );
    w(
        &mut o,
        format!(
            "- Window: {} event(s){}",
            r.events_in_window,
            r.seq_range
                .map(|(a, b)| format!(", first seq {a}, last seq {b}"))
                .unwrap_or_default()
        ),
    );
    w(&mut o, "- Every event's `hash = sha256(prev_hash || canonical_json(event))` was recomputed from seq 1 (see `docs/audit-log.md`); re-run with `closegate-engine --db DB audit verify --expect-head SEQ:HASH`.");
    w(&mut o, "");

    w(&mut o, "## Control mapping (SOC 2 TSC 2017)");
    w(&mut o, "");
    w(&mut o, "| Criterion | Evidence | What to look at |");
    w(&mut o, "|---|---|---|");
    for (c, f, what) in CONTROLS {
        w(&mut o, format!("| {c} | `{f}` | {what} |"));
    }
    w(&mut o, "");

    w(&mut o, "## Not covered (the team's own responsibility)");
    w(&mut o, "");
    for n in NOT_COVERED {
        w(&mut o, format!("- {n}"));
    }
    w(&mut o, "");

    w(&mut o, "## Re-verify every number");
    w(&mut o, "");
    w(&mut o, "File digests (save the block as `SHA256SUMS` next to the extracted files, then `sha256sum -c SHA256SUMS`):");
    w(&mut o, "");
    w(&mut o, "```");
    for (name, sha, _) in &r.files {
        w(&mut o, format!("{sha}  {name}"));
    }
    w(&mut o, "```");
    w(&mut o, "");
    w(
        &mut o,
        "Population, seq range and head at `until` (sqlite3):",
    );
    w(&mut o, "");
    w(&mut o, "```sh");
    w(&mut o, format!("sqlite3 '{}' \"SELECT COUNT(*), MIN(seq), MAX(seq) FROM audit_log WHERE ts >= '{}' AND ts < '{}'\"", r.db, r.start_utc, r.end_utc));
    w(&mut o, format!("sqlite3 '{}' \"SELECT event_type, COUNT(*) FROM audit_log WHERE ts >= '{}' AND ts < '{}' GROUP BY 1 ORDER BY 1\"", r.db, r.start_utc, r.end_utc));
    w(&mut o, format!("sqlite3 '{}' \"SELECT seq, hash FROM audit_log WHERE ts < '{}' ORDER BY seq DESC LIMIT 1\"", r.db, r.end_utc));
    w(&mut o, "```");
    w(&mut o, "");
    w(&mut o, "Seed and random sample (sha256sum, sort):");
    w(&mut o, "");
    w(&mut o, "```sh");
    w(&mut o, format!("HEAD=$(sqlite3 '{}' \"SELECT hash FROM audit_log WHERE ts < '{}' ORDER BY seq DESC LIMIT 1\")", r.db, r.end_utc));
    w(
        &mut o,
        format!(
            "SEED=$(printf '%s' \"closegate-sample:{}:{}:$HEAD\" | sha256sum | cut -d' ' -f1)",
            r.since, r.until
        ),
    );
    w(
        &mut o,
        format!(
            "sqlite3 '{}' \"SELECT seq, hash FROM audit_log WHERE ts >= '{}' AND ts < '{}'\" |",
            r.db, r.start_utc, r.end_utc
        ),
    );
    w(&mut o, "  while IFS='|' read -r seq hash; do");
    w(&mut o, "    printf '%s %s\\n' \"$(printf '%s' \"$SEED:$hash\" | sha256sum | cut -d' ' -f1)\" \"$seq\"");
    w(
        &mut o,
        format!(
            "  done | sort | head -n {}   # rank and seq of the random sample",
            r.sample_size
        ),
    );
    w(&mut o, "```");
    w(&mut o, "");
    w(
        &mut o,
        "Both samples and the boundary population (python3, standard library only):",
    );
    w(&mut o, "");
    w(&mut o, "```python");
    o.push_str(&python_script(r));
    w(&mut o, "```");
    w(&mut o, "");
    w(&mut o, "The rows of `audit-sample.csv` must equal the printed lists (same kind, same seq, same order).");
    o
}

fn describe(name: &str) -> &'static str {
    match name {
        "audit-sample.csv" => "25 random + 25 boundary audit events, every column of the event",
        "actors.json" => "actor identity registry and actors seen: kind, identity source, first/last seen, events in the window",
        "dead-letters.json" => "outbox messages that were never delivered (empty list when healthy)",
        "policy-versions.json" => "git history of the policy file linked to the policy versions in the log",
        "eval-runs.json" => "every nightly monitor run in the window and day-by-day coverage",
        "sweeper-runs.json" => "recovery sweeper runs in the window: locks and leases released, aged exceptions flagged",
        _ => "",
    }
}

/// `(criterion, file, what to look at)`.
const CONTROLS: [(&str, &str, &str); 8] = [
    ("CC4.1 (ongoing evaluations)", "eval-runs.json", "a monitor run every day of the window (`coverage.days`), each with its dimensions and thresholds"),
    ("CC4.2 (deficiencies communicated and remediated)", "eval-runs.json", "`coverage.regressions`: each failing day, the day it was remediated and the hours taken; `dead-letters.json` for notifications that failed"),
    ("CC6.1 (logical access: identification and authentication)", "actors.json", "every actor with its identity source (OIDC issuer/subject or header-trust) and kind"),
    ("CC6.2 (registration and authorization of users)", "actors.json", "`in_registry`: every actor that acted is registered; `entities` scope"),
    ("CC6.3 (role-based access, segregation of duties)", "audit-sample.csv", "`decision`, `tier` and `reason_codes` (e.g. `SOD_SAME_ACTOR`, `LLM_CANNOT_APPROVE`) on sampled events; the boundary rows show human approval above materiality"),
    ("CC7.2 (monitoring for anomalies)", "audit-sample.csv", "the chain verification above and the sampled events; `sweeper-runs.json` for expired locks and leases recovered"),
    ("CC7.3 (evaluation of events and escalation)", "sweeper-runs.json", "aged exceptions flagged for escalation; `dead-letters.json` for undelivered approval requests"),
    ("CC8.1 (change management: policy changes)", "policy-versions.json", "every commit of the policy file, and each `policy_version` in the log linked to a commit; `unreviewed_versions` must be empty"),
];

const NOT_COVERED: [&str; 9] = [
    "The identity provider: joiner/mover/leaver processes, MFA, and who may obtain an OIDC subject or set the header the transport trusts.",
    "Code review of policy changes: `policy-versions.json` shows commits, not pull-request approvals; check branch protection and reviews in the repository host.",
    "Access to the database host, backups and restores, and whether the SQLite file shown is the production book of record.",
    "Completeness of the ledger import from the source systems (GL, bank, sub-ledgers) and correctness of the FX rates in the policy.",
    "What people did with the approval notifications once delivered (Slack or webhook recipients).",
    "The AI agent's own model, prompts and deployment pipeline, beyond what the policy gate lets it do.",
    "The CI system itself: runner security, artifact retention settings and who can re-run or delete workflow runs.",
    "Events outside the window, and any period in which the engine was bypassed (writes not made through closegate-engine leave no audit event).",
    "General IT controls: change management of closegate-engine itself, vulnerability management, physical security, vendor management.",
];

fn python_script(r: &ReadmeInput) -> String {
    let b = &r.boundary_rule;
    let overrides = b
        .overrides
        .iter()
        .map(|(e, c, t)| format!("\"{e}\": (\"{c}\", Decimal(\"{t}\"))"))
        .collect::<Vec<_>>()
        .join(", ");
    let human = b
        .always_human
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut s = String::new();
    let _ = write!(
        s,
        r#"import hashlib, json, sqlite3
from decimal import Decimal
DB, SINCE, UNTIL, START, END, N = "{db}", "{since}", "{until}", "{start}", "{end}", {n}
THRESHOLD, OVERRIDES, HUMAN = Decimal("{thr}"), {{{overrides}}}, [{human}]
con = sqlite3.connect(DB)
head = con.execute("SELECT hash FROM audit_log WHERE ts < ? ORDER BY seq DESC LIMIT 1", (END,)).fetchone()[0]
seed = hashlib.sha256(f"closegate-sample:{{SINCE}}:{{UNTIL}}:{{head}}".encode()).hexdigest()
rows = con.execute("SELECT seq, hash, entity, accounts, amount, currency, amount_base FROM audit_log"
                   " WHERE ts >= ? AND ts < ?", (START, END)).fetchall()
rank = lambda h: hashlib.sha256(f"{{seed}}:{{h}}".encode()).hexdigest()
def boundary(entity, accounts, amount, currency, amount_base):
    o = OVERRIDES.get(entity)
    if o and currency == o[0]:
        over = amount is not None and abs(Decimal(amount)) > o[1]
    else:
        over = amount_base is not None and abs(Decimal(amount_base)) > THRESHOLD
    return over or any(a in HUMAN for a in json.loads(accounts))
ranked = sorted(rows, key=lambda r: (rank(r[1]), r[0]))
rand = [r[0] for r in ranked[:N]]
pop = [r for r in ranked if boundary(*r[2:])]
bound = [r[0] for r in pop if r[0] not in rand][:N]
print("seed", seed)
print("events", len(rows), "boundary population", len(pop))
print("random", rand)
print("boundary", bound)
"#,
        db = r.db.replace('\\', "\\\\").replace('"', "\\\""),
        since = r.since,
        until = r.until,
        start = r.start_utc,
        end = r.end_utc,
        n = r.sample_size,
        thr = b.threshold,
    );
    s
}
