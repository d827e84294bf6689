//! Schema v1 validation: walks the raw [`Node`] tree of `policy.yaml`, builds the validated
//! [`model::Policy`] and accumulates *every* problem as a [`Diagnostic`] (it never stops at the
//! first one). Each diagnostic points at the offending value, or at the key when the value is
//! absent, or at the enclosing key when a required key is missing.
//!
//! To avoid cascades, a value that already failed one check is not reported again by the
//! checks that depend on it (e.g. an override's entity is checked against the entities that
//! parsed; a threshold that is not a decimal is not also called non-positive).
//!
//! Pure: no I/O. `policy::load` is the only caller.

use super::diag::{DiagCode, Diagnostic, Severity};
use super::model::{
    Clause, ClosedPeriod, ClosedPeriods, Entity, Exceptions, FxRate, HumanAccount, Matching,
    Materiality, MaterialityOverride, Policy, Rationale, Strategies, Strategy, YearMonth,
};
use super::raw::{Entry, Kind, Node, Pos};
use crate::money::{parse_decimal, Currency};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// Top-level keys of schema v1.
const TOP_KEYS: &[&str] = &[
    "version",
    "name",
    "base_currency",
    "entities",
    "segregation_of_duties",
    "llm_proposals",
    "materiality",
    "always_human_accounts",
    "strategies",
    "rationale",
    "dual_approval",
    "closed_periods",
    "exceptions",
    "matching",
    "fx_rates",
];

/// Accumulates diagnostics for one file.
struct Ctx<'a> {
    file: &'a str,
    src: &'a [u8],
    diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn push(&mut self, severity: Severity, pos: Pos, code: DiagCode, message: String, hint: &str) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line: pos.line,
            col: pos.col,
            severity,
            code,
            message,
            hint: hint.to_string(),
        });
    }

    fn error(&mut self, pos: Pos, code: DiagCode, message: String, hint: &str) {
        self.push(Severity::Error, pos, code, message, hint);
    }

    fn warn(&mut self, pos: Pos, code: DiagCode, message: String, hint: &str) {
        self.push(Severity::Warning, pos, code, message, hint);
    }

    /// The node as written in the file (for unquoted scalars), else its display form.
    fn shown(&self, node: &Node) -> String {
        if let (Kind::Int(_) | Kind::Float(_) | Kind::Bool(_), Some((a, b))) =
            (&node.kind, node.bytes)
        {
            if let Some(Ok(text)) = self.src.get(a..b).map(std::str::from_utf8) {
                let text = text.trim();
                if !text.is_empty() && text.len() <= 64 && !text.contains(['\n', '\r']) {
                    return text.to_string();
                }
            }
        }
        match &node.kind {
            Kind::Str(s) => format!("{:?}", shorten(s)),
            other => other.display(),
        }
    }
}

/// A user value for a message in backticks: shortened, control characters escaped so a
/// hostile file cannot inject terminal escapes or line breaks into diagnostics.
fn clean(s: &str) -> String {
    shorten(s)
        .chars()
        .flat_map(|c| {
            let esc: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            esc
        })
        .collect()
}

/// At most 64 characters, with `…` when cut.
fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

/// Where to cite a value: the value itself, or its key when the value is empty (`key:`).
fn vpos(e: &Entry) -> Pos {
    match (&e.value.kind, e.value.bytes) {
        (Kind::Null, Some((a, b))) if a == b => e.key.pos,
        (Kind::Null, None) => e.key.pos,
        _ => e.value.pos,
    }
}

/// `a.b` or `a[0].b` path segments for messages.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A mapping being validated: its entries, its path for messages, and where to report a
/// missing key.
struct Obj<'a> {
    entries: &'a [Entry],
    path: String,
    anchor: Pos,
    /// Allowed keys an unknown key was taken for (a typo): not reported again as missing.
    suggested: BTreeSet<&'static str>,
}

impl<'a> Obj<'a> {
    /// Checks that `node` is a mapping; reports duplicate, non-string and unknown keys.
    fn new(
        ctx: &mut Ctx,
        node: &'a Node,
        path: &str,
        anchor: Pos,
        allowed: &[&'static str],
    ) -> Option<Obj<'a>> {
        let Kind::Map(entries) = &node.kind else {
            let what = if path.is_empty() { "the policy" } else { path };
            let pos = if matches!(node.kind, Kind::Null) {
                anchor
            } else {
                node.pos
            };
            ctx.error(
                pos,
                DiagCode::WrongType,
                format!("{what} must be a mapping, got {}", node.kind.type_name()),
                "write `key: value` pairs (see docs/policy.md for the keys)",
            );
            return None;
        };
        let mut seen: BTreeMap<&str, Pos> = BTreeMap::new();
        let mut suggested = BTreeSet::new();
        for e in entries {
            let Kind::Str(k) = &e.key.kind else {
                ctx.error(
                    e.key.pos,
                    DiagCode::WrongType,
                    format!(
                        "keys in {} must be strings, got {}",
                        if path.is_empty() { "the policy" } else { path },
                        ctx.shown(&e.key)
                    ),
                    "use one of the key names listed in docs/policy.md",
                );
                continue;
            };
            if let Some(first) = seen.get(k.as_str()) {
                ctx.error(
                    e.key.pos,
                    DiagCode::DuplicateKey,
                    format!(
                        "duplicate key `{}`, first defined at line {}",
                        join(path, &clean(k)),
                        first.line
                    ),
                    "remove one of the two entries; the first one would be used",
                );
                continue;
            }
            seen.insert(k, e.key.pos);
            if !allowed.contains(&k.as_str()) {
                let hint = match suggest(k, allowed) {
                    Some(s) => {
                        suggested.insert(s);
                        format!("did you mean `{s}`? allowed keys: {}", allowed.join(", "))
                    }
                    None => format!("allowed keys here: {}", allowed.join(", ")),
                };
                ctx.error(
                    e.key.pos,
                    DiagCode::UnknownKey,
                    format!(
                        "unknown key `{}` in {}",
                        clean(k),
                        if path.is_empty() { "the policy" } else { path }
                    ),
                    &hint,
                );
            }
        }
        Some(Obj {
            entries,
            path: path.to_string(),
            anchor,
            suggested,
        })
    }

    /// The first entry with this key, if any.
    fn get(&self, key: &str) -> Option<&'a Entry> {
        self.entries
            .iter()
            .find(|e| matches!(&e.key.kind, Kind::Str(k) if k == key))
    }

    /// The entry with this key; reports it missing.
    fn req(&self, ctx: &mut Ctx, key: &str, example: &str) -> Option<&'a Entry> {
        let e = self.get(key);
        if e.is_none() && !self.suggested.contains(key) {
            let within = if self.path.is_empty() {
                "the policy".to_string()
            } else {
                format!("`{}`", self.path)
            };
            ctx.error(
                self.anchor,
                DiagCode::MissingKey,
                format!("missing required key `{key}` in {within}"),
                &format!("add `{key}: {example}`"),
            );
        }
        e
    }

    fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

fn suggest(key: &str, allowed: &[&'static str]) -> Option<&'static str> {
    allowed
        .iter()
        .map(|a| (strsim::jaro_winkler(key, a), *a))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, a)| a)
}

// ---------- scalar helpers ----------

fn string<'a>(ctx: &mut Ctx, e: &'a Entry, path: &str, hint: &str) -> Option<&'a str> {
    match &e.value.kind {
        Kind::Str(s) => Some(s.as_str()),
        _ => {
            ctx.error(
                vpos(e),
                DiagCode::WrongType,
                format!("{path} must be a string, got {}", ctx.shown(&e.value)),
                hint,
            );
            None
        }
    }
}

/// A non-blank string (P023 when blank).
fn text<'a>(ctx: &mut Ctx, e: &'a Entry, path: &str, hint: &str) -> Option<&'a str> {
    let s = string(ctx, e, path, hint)?;
    if s.trim().is_empty() {
        ctx.error(
            vpos(e),
            DiagCode::EmptyValue,
            format!("{path} must not be empty"),
            hint,
        );
        return None;
    }
    Some(s)
}

fn sequence<'a>(ctx: &mut Ctx, e: &'a Entry, path: &str, hint: &str) -> Option<&'a [Node]> {
    match &e.value.kind {
        Kind::Seq(items) => Some(items.as_slice()),
        _ => {
            ctx.error(
                vpos(e),
                DiagCode::WrongType,
                format!(
                    "{path} must be a sequence, got {}",
                    e.value.kind.type_name()
                ),
                hint,
            );
            None
        }
    }
}

fn boolean(ctx: &mut Ctx, e: &Entry, path: &str) -> Option<bool> {
    match &e.value.kind {
        Kind::Bool(b) => Some(*b),
        _ => {
            ctx.error(
                vpos(e),
                DiagCode::WrongType,
                format!("{path} must be true or false, got {}", ctx.shown(&e.value)),
                "write `true` or `false` without quotes",
            );
            None
        }
    }
}

/// A monetary or decimal value: a quoted decimal string (P013 otherwise).
fn decimal(ctx: &mut Ctx, e: &Entry, path: &str, example: &str) -> Option<Decimal> {
    let hint = format!("write a quoted decimal string, e.g. `\"{example}\"`");
    let Kind::Str(s) = &e.value.kind else {
        let why = match e.value.kind {
            Kind::Int(_) | Kind::Float(_) => " (decimals are written as quoted strings)",
            _ => "",
        };
        ctx.error(
            vpos(e),
            DiagCode::NotDecimal,
            format!(
                "{path} must be a decimal string, got {}{why}",
                ctx.shown(&e.value)
            ),
            &hint,
        );
        return None;
    };
    match parse_decimal(s) {
        Ok(d) => Some(d),
        Err(_) => {
            ctx.error(
                vpos(e),
                DiagCode::NotDecimal,
                format!(
                    "{path} must be a decimal string, got {}",
                    ctx.shown(&e.value)
                ),
                &format!("{hint}; no spaces, signs other than `-`, separators or exponents"),
            );
            None
        }
    }
}

/// A decimal string above zero (P013, then P012).
fn positive(ctx: &mut Ctx, e: &Entry, path: &str, example: &str) -> Option<Decimal> {
    let d = decimal(ctx, e, path, example)?;
    if d <= Decimal::ZERO {
        ctx.error(
            vpos(e),
            DiagCode::NonPositiveAmount,
            format!(
                "{path} must be a positive decimal, got {}",
                ctx.shown(&e.value)
            ),
            &format!("use a decimal string above zero, e.g. `\"{example}\"`"),
        );
        return None;
    }
    Some(d)
}

/// A decimal string at or above zero (P013, then P020).
fn non_negative(ctx: &mut Ctx, e: &Entry, path: &str, example: &str) -> Option<Decimal> {
    let d = decimal(ctx, e, path, example)?;
    if d < Decimal::ZERO {
        ctx.error(
            vpos(e),
            DiagCode::OutOfRange,
            format!("{path} must be zero or more, got {}", ctx.shown(&e.value)),
            &format!("use a non-negative decimal string, e.g. `\"{example}\"`"),
        );
        return None;
    }
    Some(d)
}

fn currency(ctx: &mut Ctx, e: &Entry, path: &str) -> Option<Currency> {
    let s = string(ctx, e, path, "use an ISO 4217 code such as `USD`")?;
    match Currency::from_code(s) {
        Some(c) => Some(c),
        None => {
            let upper = s.trim().to_ascii_uppercase();
            let hint = if upper != s && Currency::from_code(&upper).is_some() {
                format!("currency codes are upper case: `{upper}`")
            } else {
                "use an active ISO 4217 code such as `USD`, `EUR`, `GBP` or `JPY`".to_string()
            };
            ctx.error(
                vpos(e),
                DiagCode::UnknownCurrency,
                format!(
                    "{path} is not an ISO 4217 currency code, got {}",
                    ctx.shown(&e.value)
                ),
                &hint,
            );
            None
        }
    }
}

/// An integer within `range` (P002 for non-integers, P020 out of range).
fn integer(
    ctx: &mut Ctx,
    e: &Entry,
    path: &str,
    range: std::ops::RangeInclusive<i128>,
) -> Option<i128> {
    let Kind::Int(i) = e.value.kind else {
        ctx.error(
            vpos(e),
            DiagCode::WrongType,
            format!("{path} must be an integer, got {}", ctx.shown(&e.value)),
            &format!(
                "write a whole number from {} to {} without quotes",
                range.start(),
                range.end()
            ),
        );
        return None;
    };
    if !range.contains(&i) {
        ctx.error(
            vpos(e),
            DiagCode::OutOfRange,
            format!(
                "{path} must be between {} and {}, got {i}",
                range.start(),
                range.end()
            ),
            &format!(
                "use a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        );
        return None;
    }
    Some(i)
}

/// A rule object's `clause`: a non-blank string.
fn clause(ctx: &mut Ctx, obj: &Obj, pointer: &str) -> Option<Clause> {
    let e = obj.req(ctx, "clause", "\"<the rule in plain words>\"")?;
    let path = obj.path_of("clause");
    let hint = "write the rule in plain words; it is quoted on every decision it drives";
    let s = string(ctx, e, &path, hint)?;
    if s.trim().is_empty() {
        ctx.error(
            vpos(e),
            DiagCode::EmptyClause,
            format!("{path} must not be empty"),
            hint,
        );
        return None;
    }
    Some(Clause {
        text: s.to_string(),
        pointer: pointer.to_string(),
    })
}

/// `Area/City` (segments of letters, digits, `_`, `-`, `+`) or `UTC`.
/// An IANA time-zone name known to the tz database (`Europe/London`, `UTC`).
fn timezone_shape_ok(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

// ---------- sections ----------

/// An entity id with the position of its currency value, for the fx check.
struct EntityInfo {
    currency: Currency,
    currency_pos: Pos,
}

/// Validates a parsed policy tree. `Ok` carries the policy and its warnings; `Err` carries
/// every diagnostic, at least one of them an error.
pub(crate) fn validate(
    file: &str,
    src: &[u8],
    root: &Node,
    sha256: String,
) -> Result<(Policy, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut ctx = Ctx {
        file,
        src,
        diags: Vec::new(),
    };
    let built = build(&mut ctx, root, sha256);
    let mut diags = ctx.diags;
    // Stable: equal positions keep the order checks ran in.
    diags.sort_by_key(|d| (d.line, d.col));
    let has_error = diags.iter().any(Diagnostic::is_error);
    match built {
        Some(policy) if !has_error => Ok((policy, diags)),
        _ => {
            if !has_error {
                // INVARIANT: every `None` above pushed an error; keep the promise anyway.
                diags.push(Diagnostic {
                    file: file.to_string(),
                    line: root.pos.line,
                    col: root.pos.col,
                    severity: Severity::Error,
                    code: DiagCode::WrongType,
                    message: "the policy could not be built".to_string(),
                    hint: "run `closegate-engine validate` and fix the problems it lists"
                        .to_string(),
                });
            }
            Err(diags)
        }
    }
}

fn build(ctx: &mut Ctx, root: &Node, sha256: String) -> Option<Policy> {
    if matches!(root.kind, Kind::Null) {
        ctx.error(
            Pos { line: 1, col: 1 },
            DiagCode::WrongType,
            "the policy file is empty".to_string(),
            "start from seed/saas/policy.yaml (see docs/policy.md)",
        );
        return None;
    }
    let top = Obj::new(ctx, root, "", root.pos, TOP_KEYS)?;

    let version = top
        .req(ctx, "version", "1")
        .and_then(|e| match e.value.kind {
            Kind::Int(1) => Some(1u32),
            _ => {
                ctx.error(
                    vpos(e),
                    DiagCode::UnsupportedVersion,
                    format!("version must be 1, got {}", ctx.shown(&e.value)),
                    "this engine reads policy schema v1: write `version: 1`",
                );
                None
            }
        });
    let name = top
        .req(ctx, "name", "\"Example Inc. reconciliation policy\"")
        .and_then(|e| text(ctx, e, "name", "give the policy a display name"))
        .map(str::to_string);
    let base_currency = top
        .req(ctx, "base_currency", "USD")
        .and_then(|e| currency(ctx, e, "base_currency"));

    let (entities, entity_info) = entities(ctx, &top);
    let known: Option<&BTreeMap<String, EntityInfo>> = entity_info.as_ref();

    let segregation_of_duties = simple_rule(ctx, &top, "segregation_of_duties");
    let llm_proposals = simple_rule(ctx, &top, "llm_proposals");
    let materiality = materiality(ctx, &top, known);
    let always_human_accounts = always_human(ctx, &top);
    let strategies = strategies(ctx, &top, materiality.as_ref().map(|m| m.threshold));
    let rationale = rationale(ctx, &top);
    let dual_approval = simple_rule(ctx, &top, "dual_approval");
    let closed_periods = closed_periods(ctx, &top, known);
    let exceptions = exceptions(ctx, &top);
    let matching = matching(ctx, &top);
    let fx_rates = fx_rates(ctx, &top, base_currency, known);

    Some(Policy {
        version: version?,
        name: name?,
        base_currency: base_currency?,
        entities: entities?,
        segregation_of_duties: segregation_of_duties?,
        llm_proposals: llm_proposals?,
        materiality: materiality?,
        always_human_accounts: always_human_accounts?,
        strategies: strategies?,
        rationale: rationale?,
        dual_approval: dual_approval?,
        closed_periods: closed_periods?,
        exceptions: exceptions?,
        matching: matching?,
        fx_rates: fx_rates?,
        sha256,
        document: root.to_json(),
    })
}

/// A rule object holding only a `clause` (`segregation_of_duties`, `llm_proposals`,
/// `dual_approval`).
fn simple_rule(ctx: &mut Ctx, top: &Obj, key: &str) -> Option<Clause> {
    let e = top.req(ctx, key, "{ clause: \"...\" }")?;
    let obj = Obj::new(ctx, &e.value, key, e.key.pos, &["clause"])?;
    clause(ctx, &obj, &format!("/{key}"))
}

type EntityMap = BTreeMap<String, EntityInfo>;

fn entities(ctx: &mut Ctx, top: &Obj) -> (Option<Vec<Entity>>, Option<EntityMap>) {
    let Some(e) = top.req(
        ctx,
        "entities",
        "[{ id: US-PARENT, currency: USD, timezone: America/New_York }]",
    ) else {
        return (None, None);
    };
    let hint = "list entities as `- { id: ..., currency: ..., timezone: ... }`";
    let Some(items) = sequence(ctx, e, "entities", hint) else {
        return (None, None);
    };
    if items.is_empty() {
        ctx.error(
            vpos(e),
            DiagCode::EmptyValue,
            "entities must list at least one entity".to_string(),
            hint,
        );
    }
    let mut out = Vec::new();
    let mut info: EntityMap = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("entities[{i}]");
        let Some(obj) = Obj::new(ctx, item, &path, item.pos, &["id", "currency", "timezone"])
        else {
            continue;
        };
        let id_entry = obj.req(ctx, "id", "US-PARENT");
        let id = id_entry.and_then(|e| text(ctx, e, &obj.path_of("id"), "give the entity an id"));
        let cur_entry = obj.req(ctx, "currency", "USD");
        let cur = cur_entry.and_then(|e| currency(ctx, e, &obj.path_of("currency")));
        let tz = obj.req(ctx, "timezone", "America/New_York").and_then(|e| {
            let p = obj.path_of("timezone");
            let hint = "use an IANA timezone name such as `Europe/London`, or `UTC`";
            let s = string(ctx, e, &p, hint)?;
            if !timezone_shape_ok(s) {
                let msg = if s.trim().is_empty() {
                    format!("{p} must not be empty")
                } else {
                    format!(
                        "{p} is not an IANA timezone name, got {}",
                        ctx.shown(&e.value)
                    )
                };
                ctx.error(vpos(e), DiagCode::BadTimezone, msg, hint);
                return None;
            }
            Some(s.to_string())
        });
        if let (Some(id), Some(ide)) = (id, id_entry) {
            if info.contains_key(id) {
                ctx.error(
                    vpos(ide),
                    DiagCode::DuplicateEntity,
                    format!("entity id `{}` is defined twice", clean(id)),
                    "give every entity a distinct id",
                );
                continue;
            }
            if let (Some(c), Some(ce)) = (cur, cur_entry) {
                info.insert(
                    id.to_string(),
                    EntityInfo {
                        currency: c,
                        currency_pos: vpos(ce),
                    },
                );
            }
        }
        if let (Some(id), Some(currency), Some(timezone)) = (id, cur, tz) {
            out.push(Entity {
                id: id.to_string(),
                currency,
                timezone,
            });
        }
    }
    (Some(out), Some(info))
}

/// Looks an entity id up; reports P009/P010 when unknown. `None` known map: the entities
/// section itself is broken, so the reference is not checked (no cascade).
fn entity_ref(
    ctx: &mut Ctx,
    e: &Entry,
    path: &str,
    known: Option<&EntityMap>,
    code: DiagCode,
) -> Option<String> {
    let id = text(ctx, e, path, "name an entity id from `entities`")?;
    if let Some(known) = known {
        if !known.contains_key(id) {
            let ids: Vec<&str> = known.keys().map(String::as_str).collect();
            ctx.error(
                vpos(e),
                code,
                format!("{path} names unknown entity `{}`", clean(id)),
                &if ids.is_empty() {
                    "define the entity under `entities` first".to_string()
                } else {
                    format!(
                        "use one of: {}",
                        ids.iter().map(|i| clean(i)).collect::<Vec<_>>().join(", ")
                    )
                },
            );
            return None;
        }
    }
    Some(id.to_string())
}

fn materiality(ctx: &mut Ctx, top: &Obj, known: Option<&EntityMap>) -> Option<Materiality> {
    let e = top.req(
        ctx,
        "materiality",
        "{ threshold: \"10000.00\", clause: \"...\" }",
    )?;
    let obj = Obj::new(
        ctx,
        &e.value,
        "materiality",
        e.key.pos,
        &["threshold", "clause", "entity_overrides"],
    )?;
    let threshold = obj
        .req(ctx, "threshold", "\"10000.00\"")
        .and_then(|e| positive(ctx, e, "materiality.threshold", "10000.00"));
    let cl = clause(ctx, &obj, "/materiality");
    let mut overrides = Some(Vec::new());
    if let Some(oe) = obj.get("entity_overrides") {
        let hint = "list overrides as `- { entity: ..., threshold: \"...\", clause: \"...\" }`";
        match sequence(ctx, oe, "materiality.entity_overrides", hint) {
            None => overrides = None,
            Some(items) => {
                let mut seen: BTreeSet<String> = BTreeSet::new();
                for (i, item) in items.iter().enumerate() {
                    let path = format!("materiality.entity_overrides[{i}]");
                    let Some(o) = Obj::new(
                        ctx,
                        item,
                        &path,
                        item.pos,
                        &["entity", "threshold", "clause"],
                    ) else {
                        overrides = None;
                        continue;
                    };
                    let ent_entry = o.req(ctx, "entity", "JP-SUB");
                    let ent = ent_entry.and_then(|e| {
                        entity_ref(
                            ctx,
                            e,
                            &o.path_of("entity"),
                            known,
                            DiagCode::OverrideUnknownEntity,
                        )
                    });
                    if let (Some(id), Some(ee)) = (&ent, ent_entry) {
                        if !seen.insert(id.clone()) {
                            ctx.error(
                                vpos(ee),
                                DiagCode::DuplicateOverride,
                                format!(
                                    "entity `{}` has more than one materiality override",
                                    clean(id)
                                ),
                                "keep one override per entity",
                            );
                            overrides = None;
                            continue;
                        }
                    }
                    let th = o
                        .req(ctx, "threshold", "\"1000000\"")
                        .and_then(|e| positive(ctx, e, &o.path_of("threshold"), "1000000"));
                    let c = clause(ctx, &o, &format!("/materiality/entity_overrides/{i}"));
                    match (ent, th, c, overrides.as_mut()) {
                        (Some(entity), Some(threshold), Some(clause), Some(v)) => {
                            v.push(MaterialityOverride {
                                entity,
                                threshold,
                                clause,
                            })
                        }
                        _ => overrides = None,
                    }
                }
            }
        }
    }
    Some(Materiality {
        threshold: threshold?,
        clause: cl?,
        entity_overrides: overrides?,
    })
}

fn always_human(ctx: &mut Ctx, top: &Obj) -> Option<Vec<HumanAccount>> {
    let e = top.req(ctx, "always_human_accounts", "[]")?;
    let hint = "list accounts as `- { account: \"1030\", name: \"...\", clause: \"...\" }`";
    let items = sequence(ctx, e, "always_human_accounts", hint)?;
    let mut out = Some(Vec::new());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("always_human_accounts[{i}]");
        let Some(o) = Obj::new(ctx, item, &path, item.pos, &["account", "name", "clause"]) else {
            out = None;
            continue;
        };
        let acc_entry = o.req(ctx, "account", "\"1030\"");
        let acc = acc_entry.and_then(|e| {
            text(
                ctx,
                e,
                &o.path_of("account"),
                "write the account number as a quoted string, e.g. `\"1030\"`",
            )
        });
        if let (Some(a), Some(ae)) = (acc, acc_entry) {
            if let Some(first) = seen.get(a) {
                ctx.error(
                    vpos(ae),
                    DiagCode::DuplicateAccount,
                    format!(
                        "account `{}` is already listed at always_human_accounts[{first}]",
                        clean(a)
                    ),
                    "list each account once",
                );
                out = None;
                continue;
            }
            seen.insert(a.to_string(), i);
        }
        let name = o.req(ctx, "name", "\"Customer funds\"").and_then(|e| {
            text(
                ctx,
                e,
                &o.path_of("name"),
                "give the account a display name",
            )
        });
        let c = clause(ctx, &o, &format!("/always_human_accounts/{i}"));
        match (acc, name, c, out.as_mut()) {
            (Some(account), Some(name), Some(clause), Some(v)) => v.push(HumanAccount {
                account: account.to_string(),
                name: name.to_string(),
                clause,
            }),
            _ => out = None,
        }
    }
    out
}

fn strategies(ctx: &mut Ctx, top: &Obj, materiality: Option<Decimal>) -> Option<Strategies> {
    const NAMES: [&str; 3] = ["exact_match", "fuzzy_match", "multi_to_one"];
    let e = top.req(
        ctx,
        "strategies",
        "{ exact_match: ..., fuzzy_match: ..., multi_to_one: ... }",
    )?;
    let obj = Obj::new(ctx, &e.value, "strategies", e.key.pos, &NAMES)?;
    let one = |ctx: &mut Ctx, name: &str| -> Option<Strategy> {
        let e = obj.req(ctx, name, "{ auto_confirm: false, clause: \"...\" }")?;
        let path = format!("strategies.{name}");
        let s = Obj::new(
            ctx,
            &e.value,
            &path,
            e.key.pos,
            &["auto_confirm", "auto_confirm_limit", "clause"],
        )?;
        let auto = s
            .req(ctx, "auto_confirm", "false")
            .and_then(|e| boolean(ctx, e, &s.path_of("auto_confirm")));
        let limit_entry = s.get("auto_confirm_limit");
        let mut limit_ok = true;
        let limit = match limit_entry {
            None => None,
            Some(le) => {
                let p = s.path_of("auto_confirm_limit");
                let l = positive(ctx, le, &p, "10000.00");
                if l.is_none() {
                    limit_ok = false;
                }
                if let (Some(l), Some(m)) = (l, materiality) {
                    if l > m {
                        ctx.warn(
                            vpos(le),
                            DiagCode::LimitAboveMateriality,
                            format!(
                                "{p} ({l}) is above materiality.threshold ({m}); amounts between them still need a human"
                            ),
                            "lower the limit to at most the materiality threshold, or raise the threshold",
                        );
                    }
                }
                if auto == Some(false) {
                    ctx.warn(
                        vpos(le),
                        DiagCode::LimitWithoutAutoConfirm,
                        format!("{p} has no effect because auto_confirm is false"),
                        "remove auto_confirm_limit, or set auto_confirm: true",
                    );
                }
                l
            }
        };
        let c = clause(ctx, &s, &format!("/strategies/{name}"));
        if !limit_ok {
            return None;
        }
        Some(Strategy {
            auto_confirm: auto?,
            auto_confirm_limit: limit,
            clause: c?,
        })
    };
    let exact = one(ctx, "exact_match");
    let fuzzy = one(ctx, "fuzzy_match");
    let multi = one(ctx, "multi_to_one");
    Some(Strategies {
        exact_match: exact?,
        fuzzy_match: fuzzy?,
        multi_to_one: multi?,
    })
}

fn rationale(ctx: &mut Ctx, top: &Obj) -> Option<Rationale> {
    let e = top.req(
        ctx,
        "rationale",
        "{ required_above: \"1000.00\", clause: \"...\" }",
    )?;
    let obj = Obj::new(
        ctx,
        &e.value,
        "rationale",
        e.key.pos,
        &["required_above", "clause"],
    )?;
    let above = obj
        .req(ctx, "required_above", "\"1000.00\"")
        .and_then(|e| positive(ctx, e, "rationale.required_above", "1000.00"));
    let c = clause(ctx, &obj, "/rationale");
    Some(Rationale {
        required_above: above?,
        clause: c?,
    })
}

/// `exceptions` is optional: `Some(None)` when absent, `None` when present but invalid.
fn exceptions(ctx: &mut Ctx, top: &Obj) -> Option<Option<Exceptions>> {
    let Some(e) = top.get("exceptions") else {
        return Some(None);
    };
    let obj = Obj::new(
        ctx,
        &e.value,
        "exceptions",
        e.key.pos,
        &["escalate_after_business_days", "clause"],
    )?;
    let days = obj
        .req(ctx, "escalate_after_business_days", "5")
        .and_then(|e| integer(ctx, e, "exceptions.escalate_after_business_days", 1..=260));
    let c = clause(ctx, &obj, "/exceptions");
    Some(Some(Exceptions {
        escalate_after_business_days: u32::try_from(days?).ok()?,
        clause: c?,
    }))
}

fn closed_periods(ctx: &mut Ctx, top: &Obj, known: Option<&EntityMap>) -> Option<ClosedPeriods> {
    let e = top.req(ctx, "closed_periods", "{ clause: \"...\", periods: [] }")?;
    let obj = Obj::new(
        ctx,
        &e.value,
        "closed_periods",
        e.key.pos,
        &["clause", "periods"],
    )?;
    let c = clause(ctx, &obj, "/closed_periods");
    let mut periods = Some(Vec::new());
    if let Some(pe) = obj.get("periods") {
        let hint = "list periods as `- { entity: US-PARENT, period: \"2026-03\" }`";
        match sequence(ctx, pe, "closed_periods.periods", hint) {
            None => periods = None,
            Some(items) => {
                let mut seen: BTreeSet<(String, YearMonth)> = BTreeSet::new();
                for (i, item) in items.iter().enumerate() {
                    let path = format!("closed_periods.periods[{i}]");
                    let Some(o) = Obj::new(ctx, item, &path, item.pos, &["entity", "period"])
                    else {
                        periods = None;
                        continue;
                    };
                    let ent = o.req(ctx, "entity", "US-PARENT").and_then(|e| {
                        entity_ref(
                            ctx,
                            e,
                            &o.path_of("entity"),
                            known,
                            DiagCode::PeriodUnknownEntity,
                        )
                    });
                    let per_entry = o.req(ctx, "period", "\"2026-03\"");
                    let per = per_entry.and_then(|e| {
                        let p = o.path_of("period");
                        let ym = match &e.value.kind {
                            Kind::Str(s) => YearMonth::parse(s),
                            _ => None,
                        };
                        if ym.is_none() {
                            ctx.error(
                                vpos(e),
                                DiagCode::BadPeriod,
                                format!("{p} must be `YYYY-MM`, got {}", ctx.shown(&e.value)),
                                "write the period as a quoted `\"YYYY-MM\"`, e.g. `\"2026-03\"`",
                            );
                        }
                        ym
                    });
                    match (ent, per, per_entry, periods.as_mut()) {
                        (Some(entity), Some(period), Some(pe), Some(v)) => {
                            if !seen.insert((entity.clone(), period)) {
                                ctx.warn(
                                    vpos(pe),
                                    DiagCode::DuplicatePeriod,
                                    format!(
                                        "period {period} of `{}` is listed twice",
                                        clean(&entity)
                                    ),
                                    "remove the repeated entry",
                                );
                            } else {
                                v.push(ClosedPeriod { entity, period });
                            }
                        }
                        _ => periods = None,
                    }
                }
            }
        }
    }
    Some(ClosedPeriods {
        clause: c?,
        periods: periods?,
    })
}

fn matching(ctx: &mut Ctx, top: &Obj) -> Option<Matching> {
    const KEYS: [&str; 6] = [
        "date_window_days",
        "fuzzy_amount_tolerance",
        "fuzzy_amount_tolerance_pct",
        "multi_sum_tolerance",
        "multi_max_group",
        "counterparty_similarity",
    ];
    let e = top.req(ctx, "matching", "{ date_window_days: 5, ... }")?;
    let obj = Obj::new(ctx, &e.value, "matching", e.key.pos, &KEYS)?;
    let days = obj
        .req(ctx, "date_window_days", "5")
        .and_then(|e| integer(ctx, e, "matching.date_window_days", 0..=366))
        .and_then(|i| u32::try_from(i).ok());
    let tol = obj
        .req(ctx, "fuzzy_amount_tolerance", "\"5.00\"")
        .and_then(|e| non_negative(ctx, e, "matching.fuzzy_amount_tolerance", "5.00"));
    let pct = obj
        .req(ctx, "fuzzy_amount_tolerance_pct", "\"0.1\"")
        .and_then(|e| non_negative(ctx, e, "matching.fuzzy_amount_tolerance_pct", "0.1"));
    let multi = obj
        .req(ctx, "multi_sum_tolerance", "\"1.00\"")
        .and_then(|e| non_negative(ctx, e, "matching.multi_sum_tolerance", "1.00"));
    let group = obj
        .req(ctx, "multi_max_group", "6")
        .and_then(|e| integer(ctx, e, "matching.multi_max_group", 2..=12))
        .and_then(|i| usize::try_from(i).ok());
    let sim = obj
        .req(ctx, "counterparty_similarity", "0.85")
        .and_then(|e| {
            let p = "matching.counterparty_similarity";
            let v = match e.value.kind {
                Kind::Float(f) => f,
                // Precision loss is impossible in range and irrelevant out of it.
                Kind::Int(i) => i as f64,
                _ => {
                    ctx.error(
                        vpos(e),
                        DiagCode::WrongType,
                        format!("{p} must be a number, got {}", ctx.shown(&e.value)),
                        "write a number from 0 to 1 without quotes, e.g. `0.85`",
                    );
                    return None;
                }
            };
            if !(0.0..=1.0).contains(&v) {
                ctx.error(
                    vpos(e),
                    DiagCode::OutOfRange,
                    format!("{p} must be between 0 and 1, got {}", ctx.shown(&e.value)),
                    "use a similarity score from 0 to 1, e.g. `0.85`",
                );
                return None;
            }
            Some(v)
        });
    Some(Matching {
        date_window_days: days?,
        fuzzy_amount_tolerance: tol?,
        fuzzy_amount_tolerance_pct: pct?,
        multi_sum_tolerance: multi?,
        multi_max_group: group?,
        counterparty_similarity: sim?,
    })
}

fn fx_rates(
    ctx: &mut Ctx,
    top: &Obj,
    base: Option<Currency>,
    known: Option<&EntityMap>,
) -> Option<Vec<FxRate>> {
    let mut out = Some(Vec::new());
    // Currencies that have at least one rate (even a broken one: no cascade into P017).
    let mut covered: BTreeSet<String> = BTreeSet::new();
    let mut fx_section_ok = true;
    if let Some(e) = top.get("fx_rates") {
        let hint = "list rates as `- { currency: GBP, rate: \"1.2650\", as_of: \"2026-01-01\" }`";
        match sequence(ctx, e, "fx_rates", hint) {
            None => {
                out = None;
                fx_section_ok = false;
            }
            Some(items) => {
                let mut seen: BTreeSet<(Currency, NaiveDate)> = BTreeSet::new();
                for (i, item) in items.iter().enumerate() {
                    let path = format!("fx_rates[{i}]");
                    let Some(o) =
                        Obj::new(ctx, item, &path, item.pos, &["currency", "rate", "as_of"])
                    else {
                        out = None;
                        fx_section_ok = false;
                        continue;
                    };
                    let cur_entry = o.req(ctx, "currency", "GBP");
                    if let Some(Kind::Str(s)) = cur_entry.map(|e| &e.value.kind) {
                        covered.insert(s.clone());
                    }
                    let cur = cur_entry.and_then(|e| currency(ctx, e, &o.path_of("currency")));
                    if cur.is_none() {
                        // The intended currency is unknown: a P017 would only be a cascade.
                        fx_section_ok = false;
                    }
                    if let (Some(c), Some(b), Some(ce)) = (cur, base, cur_entry) {
                        if c == b {
                            ctx.warn(
                                vpos(ce),
                                DiagCode::FxRateForBase,
                                format!(
                                    "{} is the base currency {b}; this rate is never used",
                                    o.path_of("currency")
                                ),
                                "remove the rate: base-currency amounts are not converted",
                            );
                        }
                    }
                    let rate = o.req(ctx, "rate", "\"1.2650\"").and_then(|e| {
                        let p = o.path_of("rate");
                        let d = decimal(ctx, e, &p, "1.2650")?;
                        if d <= Decimal::ZERO {
                            ctx.error(
                                vpos(e),
                                DiagCode::NonPositiveFxRate,
                                format!(
                                    "{p} must be a positive decimal, got {}",
                                    ctx.shown(&e.value)
                                ),
                                "write the base-currency value of one unit, e.g. `\"1.2650\"`",
                            );
                            return None;
                        }
                        Some(d)
                    });
                    let as_of_entry = o.req(ctx, "as_of", "\"2026-01-01\"");
                    let as_of = as_of_entry.and_then(|e| {
                        let p = o.path_of("as_of");
                        let d = match &e.value.kind {
                            Kind::Str(s) if s.len() == 10 => {
                                NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
                            }
                            _ => None,
                        };
                        if d.is_none() {
                            ctx.error(
                                vpos(e),
                                DiagCode::BadDate,
                                format!(
                                    "{p} must be a date `YYYY-MM-DD`, got {}",
                                    ctx.shown(&e.value)
                                ),
                                "write a real calendar date, e.g. `\"2026-01-01\"`",
                            );
                        }
                        d
                    });
                    if let (Some(c), Some(d), Some(ae)) = (cur, as_of, as_of_entry) {
                        if !seen.insert((c, d)) {
                            ctx.error(
                                vpos(ae),
                                DiagCode::DuplicateFxRate,
                                format!("a {c} rate as of {d} is already defined"),
                                "keep one rate per currency and date",
                            );
                            out = None;
                            continue;
                        }
                    }
                    match (cur, rate, as_of, out.as_mut()) {
                        (Some(currency), Some(rate), Some(as_of), Some(v)) => v.push(FxRate {
                            currency,
                            rate,
                            as_of,
                        }),
                        _ => out = None,
                    }
                }
            }
        }
    }
    // Every entity currency other than the base needs a rate.
    if let (Some(base), Some(known), true) = (base, known, fx_section_ok) {
        let mut reported: BTreeSet<Currency> = BTreeSet::new();
        let mut by_pos: Vec<(&String, &EntityInfo)> = known.iter().collect();
        by_pos.sort_by_key(|(_, info)| info.currency_pos);
        for (id, info) in by_pos {
            let c = info.currency;
            if c != base && !covered.contains(c.code()) && reported.insert(c) {
                ctx.error(
                    info.currency_pos,
                    DiagCode::MissingFxRate,
                    format!(
                        "entity `{}` uses {c} but fx_rates has no {c} rate to the base currency {base}",
                        clean(id)
                    ),
                    &format!("add `- {{ currency: {c}, rate: \"<{base} per {c}>\", as_of: \"YYYY-MM-DD\" }}` to fx_rates"),
                );
            }
        }
    }
    let mut v = out?;
    v.sort_by(|a, b| (a.currency.code(), a.as_of).cmp(&(b.currency.code(), b.as_of)));
    Some(v)
}
