//! The hash chain, pure (no I/O, no clock): the canonical bytes of an event, its hash, linking a
//! new event onto a head, and a streaming [`Verifier`] that reports the first break.
//!
//! Contract (`docs/audit-log.md`):
//! - canonical bytes = RFC 8785 (JCS) JSON of the event **without** its `hash` field (so `seq` and
//!   `prev_hash` are included; absent optional fields are `null`; amounts are strings);
//! - `hash = hex(sha256(prev_hash_ascii_hex || canonical_bytes))`, lower-case hex;
//! - the genesis `prev_hash` is 64 ASCII `0`s.
//!
//! The JCS bytes are written by a hand-rolled writer over a fixed, known field set (the hot path of
//! `audit verify`); a test proves it byte-equal to `serde_json_canonicalizer` on the serde form of
//! [`AuditEvent`]. Must not: read files, read the clock, or allocate per event beyond what parsing
//! the stored JSON columns needs.

use crate::audit::event::{AuditEvent, EventSubject, NewEvent};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// `prev_hash` of the first event (seq 1).
pub const GENESIS_PREV_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// One reason as the chain sees it (borrowed from a stored row or from a [`NewEvent`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonRef<'a> {
    /// Reason code (kept as text: the hash, not the enum, decides what is valid).
    #[serde(borrow)]
    pub code: Cow<'a, str>,
    /// Verbatim clause.
    #[serde(borrow)]
    pub clause: Cow<'a, str>,
    /// RFC 6901 pointer into the policy, or `null`.
    #[serde(borrow, default)]
    pub pointer: Option<Cow<'a, str>>,
}

/// The subject as the chain sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectRef<'a> {
    /// Match id or `null`.
    #[serde(borrow, default)]
    pub match_id: Option<Cow<'a, str>>,
    /// Entry ids.
    #[serde(borrow, default)]
    pub entry_ids: Vec<Cow<'a, str>>,
    /// Request id or `null`.
    #[serde(borrow, default)]
    pub request_id: Option<Cow<'a, str>>,
}

/// A JSON-valued field of an [`EventRef`]: either parsed, or the stored text, taken to be the
/// field's canonical JSON and hashed verbatim. Splicing stored text is sound for tamper
/// detection: the event verifies only if the text is byte-identical to the canonical form that
/// was hashed at append time (the store writes these columns canonically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment<'a, T> {
    /// A parsed value, written canonically.
    Parsed(T),
    /// Stored canonical JSON text, written as is.
    Raw(&'a str),
}

/// A borrowed view of one chained event: what [`canonical_json`] writes and [`Verifier`] checks.
/// Build it from an [`AuditEvent`] with [`EventRef::from_event`] or from stored columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// Sequence number, 1..n.
    pub seq: u64,
    /// Event id.
    pub event_id: &'a str,
    /// RFC 3339 UTC timestamp.
    pub ts: &'a str,
    /// Actor id.
    pub actor_id: &'a str,
    /// Actor kind.
    pub actor_kind: &'a str,
    /// Action name.
    pub action: &'a str,
    /// Tier.
    pub tier: &'a str,
    /// Decision.
    pub decision: &'a str,
    /// Reasons.
    pub reasons: Fragment<'a, Vec<ReasonRef<'a>>>,
    /// Event type name.
    pub event_type: &'a str,
    /// Subject.
    pub subject: Fragment<'a, SubjectRef<'a>>,
    /// Entity or `None`.
    pub entity: Option<&'a str>,
    /// Accounts.
    pub accounts: Fragment<'a, Vec<Cow<'a, str>>>,
    /// Amount (decimal string) or `None`.
    pub amount: Option<&'a str>,
    /// Currency or `None`.
    pub currency: Option<&'a str>,
    /// Base-currency amount or `None`.
    pub amount_base: Option<&'a str>,
    /// Policy version (sha256 hex of the policy bytes).
    pub policy_version: &'a str,
    /// Rationale or `None`.
    pub rationale: Option<&'a str>,
    /// Previous hash.
    pub prev_hash: &'a str,
    /// Stored hash (not part of the canonical bytes).
    pub hash: &'a str,
}

impl<'a> EventRef<'a> {
    /// Views a new event as if chained at `seq` after `prev_hash` (its `hash` is empty).
    pub fn from_new(seq: u64, prev_hash: &'a str, ev: &'a NewEvent) -> EventRef<'a> {
        EventRef {
            seq,
            event_id: &ev.event_id,
            ts: &ev.ts,
            actor_id: &ev.actor_id,
            actor_kind: &ev.actor_kind,
            action: &ev.action,
            tier: &ev.tier,
            decision: &ev.decision,
            reasons: Fragment::Parsed(
                ev.reasons
                    .iter()
                    .map(|r| ReasonRef {
                        code: Cow::Borrowed(r.code.as_str()),
                        clause: Cow::Borrowed(&r.clause),
                        pointer: r.pointer.as_deref().map(Cow::Borrowed),
                    })
                    .collect(),
            ),
            event_type: ev.event_type.as_str(),
            subject: Fragment::Parsed(subject_ref(&ev.subject)),
            entity: ev.entity.as_deref(),
            accounts: Fragment::Parsed(
                ev.accounts
                    .iter()
                    .map(|a| Cow::Borrowed(a.as_str()))
                    .collect(),
            ),
            amount: ev.amount.as_deref(),
            currency: ev.currency.as_deref(),
            amount_base: ev.amount_base.as_deref(),
            policy_version: &ev.policy_version,
            rationale: ev.rationale.as_deref(),
            prev_hash,
            hash: "",
        }
    }

    /// Views a chained event.
    pub fn from_event(ev: &'a AuditEvent) -> EventRef<'a> {
        let mut r = EventRef::from_new(ev.seq, &ev.prev_hash, &ev.body);
        r.hash = &ev.hash;
        r
    }
}

fn subject_ref(s: &EventSubject) -> SubjectRef<'_> {
    SubjectRef {
        match_id: s.match_id.as_deref().map(Cow::Borrowed),
        entry_ids: s
            .entry_ids
            .iter()
            .map(|e| Cow::Borrowed(e.as_str()))
            .collect(),
        request_id: s.request_id.as_deref().map(Cow::Borrowed),
    }
}

/// Bytes that need escaping in a JSON string: `"`, `\\` and controls below U+0020.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Writes a JSON string per RFC 8785 §3.2.2.2: `"` and `\` escaped, `\b \t \n \f \r` short
/// forms, other controls below U+0020 as `\u00xx` (lower-case hex), everything else literal UTF-8.
fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_key(out: &mut Vec<u8>, key: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(key);
    out.extend_from_slice(b"\":");
}

fn write_str_array<S: AsRef<str>>(out: &mut Vec<u8>, items: &[S]) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, s.as_ref());
    }
    out.push(b']');
}

/// Appends the canonical JSON of a reason list (`[{"clause":…,"code":…,"pointer":…},…]`).
pub fn canonical_reasons(reasons: &[ReasonRef<'_>], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, r) in reasons.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        write_key(out, b"clause");
        write_str(out, &r.clause);
        out.push(b',');
        write_key(out, b"code");
        write_str(out, &r.code);
        out.push(b',');
        write_key(out, b"pointer");
        write_opt(out, r.pointer.as_deref());
        out.push(b'}');
    }
    out.push(b']');
}

/// Appends the canonical JSON of a subject (`{"entry_ids":[…],"match_id":…,"request_id":…}`).
pub fn canonical_subject(subject: &SubjectRef<'_>, out: &mut Vec<u8>) {
    out.push(b'{');
    write_key(out, b"entry_ids");
    write_str_array(out, &subject.entry_ids);
    out.push(b',');
    write_key(out, b"match_id");
    write_opt(out, subject.match_id.as_deref());
    out.push(b',');
    write_key(out, b"request_id");
    write_opt(out, subject.request_id.as_deref());
    out.push(b'}');
}

/// Appends the canonical JSON of a string list.
pub fn canonical_strings<S: AsRef<str>>(items: &[S], out: &mut Vec<u8>) {
    write_str_array(out, items);
}

/// The canonical JSON texts of an event's `reasons`, `subject` and `accounts`, as the store
/// keeps them in its JSON columns.
pub fn canonical_columns(ev: &NewEvent) -> (String, String, String) {
    let view = EventRef::from_new(0, "", ev);
    let text = |write: &dyn Fn(&mut Vec<u8>)| {
        let mut buf = Vec::with_capacity(256);
        write(&mut buf);
        // The writer copies only `&str` content and ASCII punctuation: always UTF-8.
        String::from_utf8_lossy(&buf).into_owned()
    };
    (
        text(&|o| write_fragment(o, &view.reasons, |v, o| canonical_reasons(v, o))),
        text(&|o| write_fragment(o, &view.subject, canonical_subject)),
        text(&|o| write_fragment(o, &view.accounts, |v, o| canonical_strings(v, o))),
    )
}

fn write_fragment<T>(out: &mut Vec<u8>, f: &Fragment<'_, T>, parsed: impl Fn(&T, &mut Vec<u8>)) {
    match f {
        Fragment::Parsed(v) => parsed(v, out),
        Fragment::Raw(text) => out.extend_from_slice(text.as_bytes()),
    }
}

/// Appends the canonical (RFC 8785) JSON of `ev` without its `hash` to `out`. Keys are written in
/// JCS order (all keys are ASCII, so UTF-16 order is byte order); `seq` is the only number.
pub fn canonical_json(ev: &EventRef<'_>, out: &mut Vec<u8>) {
    canonical_json_spans(ev, out);
}

/// Byte ranges of the JSON-valued fields inside one event's canonical bytes (relative to the
/// start of those bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans {
    /// `reasons` value.
    pub reasons: std::ops::Range<usize>,
    /// `subject` value.
    pub subject: std::ops::Range<usize>,
    /// `accounts` value.
    pub accounts: std::ops::Range<usize>,
}

/// [`canonical_json`], also returning where the JSON-valued fields are.
pub fn canonical_json_spans(ev: &EventRef<'_>, out: &mut Vec<u8>) -> Spans {
    let base = out.len();
    let mut spans = Spans::default();
    out.push(b'{');
    write_key(out, b"accounts");
    let a = out.len() - base;
    write_fragment(out, &ev.accounts, |v, o| canonical_strings(v, o));
    spans.accounts = a..out.len() - base;
    out.push(b',');
    write_key(out, b"action");
    write_str(out, ev.action);
    out.push(b',');
    write_key(out, b"actor_id");
    write_str(out, ev.actor_id);
    out.push(b',');
    write_key(out, b"actor_kind");
    write_str(out, ev.actor_kind);
    out.push(b',');
    write_key(out, b"amount");
    write_opt(out, ev.amount);
    out.push(b',');
    write_key(out, b"amount_base");
    write_opt(out, ev.amount_base);
    out.push(b',');
    write_key(out, b"currency");
    write_opt(out, ev.currency);
    out.push(b',');
    write_key(out, b"decision");
    write_str(out, ev.decision);
    out.push(b',');
    write_key(out, b"entity");
    write_opt(out, ev.entity);
    out.push(b',');
    write_key(out, b"event_id");
    write_str(out, ev.event_id);
    out.push(b',');
    write_key(out, b"event_type");
    write_str(out, ev.event_type);
    out.push(b',');
    write_key(out, b"policy_version");
    write_str(out, ev.policy_version);
    out.push(b',');
    write_key(out, b"prev_hash");
    write_str(out, ev.prev_hash);
    out.push(b',');
    write_key(out, b"rationale");
    write_opt(out, ev.rationale);
    out.push(b',');
    write_key(out, b"reasons");
    let a = out.len() - base;
    write_fragment(out, &ev.reasons, |v, o| canonical_reasons(v, o));
    spans.reasons = a..out.len() - base;
    out.push(b',');
    write_key(out, b"seq");
    out.extend_from_slice(itoa_u64(ev.seq).as_bytes());
    out.push(b',');
    write_key(out, b"subject");
    let a = out.len() - base;
    write_fragment(out, &ev.subject, canonical_subject);
    spans.subject = a..out.len() - base;
    out.push(b',');
    write_key(out, b"tier");
    write_str(out, ev.tier);
    out.push(b',');
    write_key(out, b"ts");
    write_str(out, ev.ts);
    out.push(b'}');
    spans
}

/// Why a JSON-valued field inside `ev`'s canonical bytes is not the canonical JSON of that
/// field, if one is not (slow path, only after a hash mismatch).
fn diagnose_fragments(ev: &PreparedEvent<'_>) -> Option<String> {
    fn check<'a, T: serde::Deserialize<'a>>(
        name: &str,
        text: &'a [u8],
        write: impl Fn(&T, &mut Vec<u8>),
    ) -> Option<String> {
        match serde_json::from_slice::<T>(text) {
            Err(e) => Some(format!("column `{name}` is not valid: {e}")),
            Ok(v) => {
                let mut buf = Vec::new();
                write(&v, &mut buf);
                (buf != text).then(|| format!("column `{name}` is not in canonical JSON form"))
            }
        }
    }
    let part = |r: &std::ops::Range<usize>| ev.canonical.get(r.clone()).unwrap_or_default();
    check(
        "reasons",
        part(&ev.spans.reasons),
        |v: &Vec<ReasonRef<'_>>, o| canonical_reasons(v, o),
    )
    .or_else(|| check("subject", part(&ev.spans.subject), canonical_subject))
    .or_else(|| {
        check(
            "accounts",
            part(&ev.spans.accounts),
            |v: &Vec<Cow<'_, str>>, o| canonical_strings(v, o),
        )
    })
}

/// An event reduced to what the verifier needs: its canonical bytes (from
/// [`canonical_json_spans`]) and the stored chain fields. Lets the canonical bytes be built on
/// another thread than the one hashing them.
#[derive(Debug, Clone)]
pub struct PreparedEvent<'a> {
    /// Seq.
    pub seq: u64,
    /// Stored `prev_hash`.
    pub prev_hash: &'a str,
    /// Stored `hash`.
    pub hash: &'a str,
    /// Stored `policy_version`.
    pub policy_version: &'a str,
    /// Canonical JSON of the event without its hash.
    pub canonical: &'a [u8],
    /// Where the JSON-valued fields are in `canonical`.
    pub spans: Spans,
}

/// Decimal digits of `n` (stack buffer, no heap allocation).
fn itoa_u64(mut n: u64) -> DigitBuf {
    let mut buf = DigitBuf {
        bytes: [0; 20],
        start: 20,
    };
    loop {
        buf.start -= 1;
        buf.bytes[buf.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf
}

struct DigitBuf {
    bytes: [u8; 20],
    start: usize,
}

impl DigitBuf {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// `sha256(prev_hash_ascii || canonical)` as raw bytes.
fn digest(prev_hash: &str, canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical);
    h.finalize().into()
}

/// The hash of an event: `hex(sha256(prev_hash || canonical_json(ev without hash)))`.
/// `ev.prev_hash` is used both inside the canonical JSON and as the prefix.
pub fn compute_hash(ev: &EventRef<'_>) -> String {
    let mut buf = Vec::with_capacity(1024);
    canonical_json(ev, &mut buf);
    hex::encode(digest(ev.prev_hash, &buf))
}

/// Chains `ev` at `seq` after `prev_hash`, computing its hash.
pub fn link(seq: u64, prev_hash: &str, ev: NewEvent) -> AuditEvent {
    let hash = compute_hash(&EventRef::from_new(seq, prev_hash, &ev));
    AuditEvent {
        seq,
        body: ev,
        prev_hash: prev_hash.to_string(),
        hash,
    }
}

/// What kind of problem the verifier found. The JSON names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A seq is missing (deleted row) or the first seq is not 1.
    SeqGap,
    /// A seq is repeated or goes backwards.
    SeqOrder,
    /// `prev_hash` is not the previous event's hash.
    PrevHashMismatch,
    /// The stored hash is not the hash of the stored content.
    HashMismatch,
    /// A row could not be read as an event.
    Unparseable,
    /// A reason's clause differs from the clause at its pointer in the recorded policy version.
    ReasonClauseMismatch,
    /// A reason's pointer does not resolve in the recorded policy version.
    ReasonPointerUnresolved,
    /// The log ends before the expected head (`--expect-head`).
    Truncated,
    /// The event at the expected head seq has a different hash (`--expect-head`).
    HeadMismatch,
    /// A stored policy text does not hash to its recorded version.
    PolicyTampered,
}

impl ProblemKind {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProblemKind::SeqGap => "seq_gap",
            ProblemKind::SeqOrder => "seq_order",
            ProblemKind::PrevHashMismatch => "prev_hash_mismatch",
            ProblemKind::HashMismatch => "hash_mismatch",
            ProblemKind::Unparseable => "unparseable",
            ProblemKind::ReasonClauseMismatch => "reason_clause_mismatch",
            ProblemKind::ReasonPointerUnresolved => "reason_pointer_unresolved",
            ProblemKind::Truncated => "truncated",
            ProblemKind::HeadMismatch => "head_mismatch",
            ProblemKind::PolicyTampered => "policy_tampered",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found by the verifier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The first seq concerned (`None` only for problems outside the chain, e.g. a policy text).
    pub seq: Option<u64>,
    /// What kind.
    pub kind: ProblemKind,
    /// Precise description.
    pub message: String,
}

/// The verifier's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Events read.
    pub events: u64,
    /// Seq of the last event read (0 when empty).
    pub head_seq: u64,
    /// Stored hash of the last event read (the genesis hash when empty).
    pub head_hash: String,
    /// No problems.
    pub ok: bool,
    /// Problems in seq order of discovery; the first is the first bad seq. Capped at
    /// [`MAX_PROBLEMS`]; `problems_total` counts them all.
    pub problems: Vec<Problem>,
    /// Number of problems found, including those not listed.
    pub problems_total: u64,
}

impl VerifyReport {
    /// The first problem, if any.
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
}

/// Most problems listed in a report.
pub const MAX_PROBLEMS: usize = 1000;

/// Streaming chain verifier. Feed events in seq order with [`Verifier::feed`] (or
/// [`Verifier::feed_unparseable`] for a row that could not be read), then [`Verifier::finish`].
///
/// After a break it keeps going, re-anchoring on the stored values so one edit yields one problem
/// rather than a cascade.
#[derive(Debug)]
pub struct Verifier {
    next_seq: u64,
    prev_hash: String,
    events: u64,
    head_seq: u64,
    expect_head: Option<(u64, String)>,
    expect_head_seen: bool,
    policies: HashMap<String, serde_json::Value>,
    problems: Vec<Problem>,
    problems_total: u64,
    buf: Vec<u8>,
    hex: [u8; 64],
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

impl Verifier {
    /// A verifier for a chain starting at seq 1 with the genesis `prev_hash`.
    pub fn new() -> Verifier {
        Verifier {
            next_seq: 1,
            prev_hash: GENESIS_PREV_HASH.to_string(),
            events: 0,
            head_seq: 0,
            expect_head: None,
            expect_head_seen: false,
            policies: HashMap::new(),
            problems: Vec::new(),
            problems_total: 0,
            buf: Vec::with_capacity(2048),
            hex: [0; 64],
        }
    }

    /// Also checks that the event at `seq` exists and has `hash` (a head recorded elsewhere).
    pub fn expect_head(mut self, seq: u64, hash: &str) -> Verifier {
        self.expect_head = Some((seq, hash.to_ascii_lowercase()));
        self
    }

    /// Policy documents (`policy_version` → the policy as a JSON value): reasons of events with a
    /// known version must quote the clause found at their pointer.
    pub fn with_policies(mut self, policies: HashMap<String, serde_json::Value>) -> Verifier {
        self.policies = policies;
        self
    }

    /// Records a problem not tied to one event (e.g. a tampered policy text).
    pub fn add_problem(&mut self, seq: Option<u64>, kind: ProblemKind, message: String) {
        self.problems_total += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem { seq, kind, message });
        }
    }

    /// A row that could not be read as an event (`seq` and its stored `hash` if they could be
    /// read: the next event's link is then checked against that hash).
    pub fn feed_unparseable(&mut self, seq: Option<u64>, hash: Option<&str>, what: &str) {
        let at = seq.unwrap_or(self.next_seq);
        if let Some(s) = seq {
            self.check_seq(s);
        }
        self.add_problem(
            Some(at),
            ProblemKind::Unparseable,
            format!("seq {at}: row cannot be read as an event: {what}"),
        );
        if let Some(s) = seq {
            self.advance(s, hash);
        }
    }

    fn advance(&mut self, seq: u64, hash: Option<&str>) {
        self.events += 1;
        self.head_seq = seq;
        self.next_seq = seq.saturating_add(1);
        self.prev_hash.clear();
        self.prev_hash.push_str(hash.unwrap_or(""));
    }

    /// Checks one event.
    pub fn feed(&mut self, ev: &EventRef<'_>) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let spans = canonical_json_spans(ev, &mut buf);
        self.feed_prepared(&PreparedEvent {
            seq: ev.seq,
            prev_hash: ev.prev_hash,
            hash: ev.hash,
            policy_version: ev.policy_version,
            canonical: &buf,
            spans,
        });
        self.buf = buf;
    }

    /// Reports a seq that is not the next one; returns whether it was in place.
    fn check_seq(&mut self, seq: u64) -> bool {
        if seq == self.next_seq {
            return true;
        }
        if seq > self.next_seq {
            let missing = self.next_seq;
            let msg = if seq == missing + 1 {
                format!(
                    "seq {missing} is missing: the event after seq {} is seq {seq}",
                    missing.saturating_sub(1)
                )
            } else {
                format!(
                    "seqs {missing}..={} are missing: the event after seq {} is seq {seq}",
                    seq - 1,
                    missing.saturating_sub(1)
                )
            };
            self.add_problem(Some(missing), ProblemKind::SeqGap, msg);
        } else {
            self.add_problem(
                Some(seq),
                ProblemKind::SeqOrder,
                format!(
                    "seq {seq} appears after seq {}: seqs must increase by 1",
                    self.head_seq
                ),
            );
        }
        false
    }

    /// Checks one event whose canonical bytes are already built.
    pub fn feed_prepared(&mut self, ev: &PreparedEvent<'_>) {
        let seq = ev.seq;
        // The link is checked only when the seq is in place: a gap already explains it.
        if self.check_seq(seq) && ev.prev_hash != self.prev_hash {
            self.add_problem(
                Some(seq),
                ProblemKind::PrevHashMismatch,
                format!(
                    "seq {seq}: prev_hash `{}` is not the hash of seq {} (`{}`)",
                    ev.prev_hash,
                    seq - 1,
                    self.prev_hash
                ),
            );
        }
        let d = digest(ev.prev_hash, ev.canonical);
        // hex::encode_to_slice cannot fail on a 64-byte buffer for 32 bytes.
        let computed_ok = hex::encode_to_slice(d, &mut self.hex).is_ok();
        if !computed_ok || self.hex[..] != *ev.hash.as_bytes() {
            let (kind, message) = match diagnose_fragments(ev) {
                Some(why) => (
                    ProblemKind::Unparseable,
                    format!("seq {seq}: row cannot be read as an event: {why}"),
                ),
                None => {
                    let computed = std::str::from_utf8(&self.hex).unwrap_or("");
                    (
                        ProblemKind::HashMismatch,
                        format!(
                            "seq {seq}: stored hash `{}` is not the hash of the stored content (`{computed}`)",
                            ev.hash
                        ),
                    )
                }
            };
            self.add_problem(Some(seq), kind, message);
        }
        if !self.policies.is_empty() {
            self.check_reasons(ev);
        }
        if let Some((want_seq, want_hash)) = &self.expect_head {
            if *want_seq == seq {
                self.expect_head_seen = true;
                if ev.hash != want_hash {
                    let msg = format!(
                        "seq {seq}: hash `{}` differs from the expected head `{want_hash}`: the log was rewritten at or before seq {seq}",
                        ev.hash
                    );
                    self.add_problem(Some(seq), ProblemKind::HeadMismatch, msg);
                }
            }
        }
        self.advance(seq, Some(ev.hash));
    }

    fn check_reasons(&mut self, ev: &PreparedEvent<'_>) {
        let Some(doc) = self.policies.get(ev.policy_version) else {
            return;
        };
        let text = ev
            .canonical
            .get(ev.spans.reasons.clone())
            .unwrap_or_default();
        let Ok(reasons) = serde_json::from_slice::<Vec<ReasonRef<'_>>>(text) else {
            // Unparseable reasons already failed the hash check.
            return;
        };
        let mut found = Vec::new();
        for r in &reasons {
            let Some(ptr) = r.pointer.as_deref() else {
                continue;
            };
            match doc.pointer(ptr) {
                None => found.push((
                    ProblemKind::ReasonPointerUnresolved,
                    format!(
                        "seq {}: reason `{}` points at `{ptr}`, which does not exist in policy version `{}`",
                        ev.seq, r.code, ev.policy_version
                    ),
                )),
                Some(v) => {
                    let clause = v.get("clause").and_then(|c| c.as_str());
                    if clause != Some(r.clause.as_ref()) {
                        found.push((
                            ProblemKind::ReasonClauseMismatch,
                            format!(
                                "seq {}: reason `{}` quotes a clause that differs from `{ptr}/clause` in policy version `{}`",
                                ev.seq, r.code, ev.policy_version
                            ),
                        ));
                    }
                }
            }
        }
        for (kind, msg) in found {
            self.add_problem(Some(ev.seq), kind, msg);
        }
    }

    /// Ends the stream and returns the report.
    pub fn finish(mut self) -> VerifyReport {
        if let Some((want_seq, want_hash)) = self.expect_head.clone() {
            if !self.expect_head_seen && self.head_seq < want_seq {
                let msg = format!(
                    "the log ends at seq {} but the expected head is seq {want_seq} (`{want_hash}`): events after seq {} were removed",
                    self.head_seq, self.head_seq
                );
                self.add_problem(Some(self.head_seq + 1), ProblemKind::Truncated, msg);
            } else if !self.expect_head_seen {
                let msg = format!("the expected head seq {want_seq} is not in the log");
                self.add_problem(Some(want_seq), ProblemKind::Truncated, msg);
            }
        }
        // Problems are discovered in stream order except the end-of-stream ones; keep the
        // earliest seq first so `problems[0]` is the first bad seq.
        self.problems
            .sort_by_key(|p| p.seq.map_or((0, 0), |s| (1, s)));
        let head_hash = if self.events == 0 {
            GENESIS_PREV_HASH.to_string()
        } else {
            self.prev_hash
        };
        VerifyReport {
            events: self.events,
            head_seq: self.head_seq,
            head_hash,
            ok: self.problems_total == 0,
            problems: self.problems,
            problems_total: self.problems_total,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::audit::event::EventType;
    use crate::gate::decision::{Reason, ReasonCode};
    use proptest::prelude::*;

    fn sample(i: u64) -> NewEvent {
        NewEvent {
            event_id: format!("evt-{i:06}"),
            ts: "2026-04-03T10:00:00Z".into(),
            actor_id: "human:alice".into(),
            actor_kind: "human".into(),
            action: "confirm_match".into(),
            tier: "T2".into(),
            decision: "require_approval".into(),
            reasons: vec![Reason {
                code: ReasonCode::MaterialityOverThreshold,
                clause: "Amounts over 10,000 USD need a human".into(),
                pointer: Some("/materiality".into()),
            }],
            event_type: EventType::ApprovalRequired,
            subject: EventSubject {
                match_id: Some("M-1".into()),
                entry_ids: vec!["GL-1".into(), "SL-1".into()],
                request_id: None,
            },
            entity: Some("US-PARENT".into()),
            accounts: vec!["1200".into()],
            amount: Some("12500.00".into()),
            currency: Some("USD".into()),
            amount_base: Some("12500.00".into()),
            policy_version: "9f".repeat(32),
            rationale: None,
        }
    }

    fn chain(n: u64) -> Vec<AuditEvent> {
        let mut out: Vec<AuditEvent> = Vec::new();
        for i in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS_PREV_HASH.to_string(), |e| e.hash.clone());
            out.push(link(i, &prev, sample(i)));
        }
        out
    }

    fn verify(events: &[AuditEvent], v: Verifier) -> VerifyReport {
        let mut v = v;
        for e in events {
            v.feed(&EventRef::from_event(e));
        }
        v.finish()
    }

    /// The worked example of `docs/audit-log.md`. The canonical string is written by hand and the
    /// hash was computed independently with `python3 -c 'import hashlib; ...'` over
    /// `"0"*64 + canonical`.
    #[test]
    fn worked_example_matches_independent_computation() {
        let canonical = concat!(
            r#"{"accounts":["1200"],"action":"confirm_match","actor_id":"human:alice","#,
            r#""actor_kind":"human","amount":"12500.00","amount_base":"12500.00","currency":"USD","#,
            r#""decision":"require_approval","entity":"US-PARENT","event_id":"evt-000001","#,
            r#""event_type":"APPROVAL_REQUIRED","policy_version":"#,
            r#""9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f","#,
            r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","#,
            r#""rationale":null,"reasons":[{"clause":"Amounts over 10,000 USD need a human","#,
            r#""code":"MATERIALITY_OVER_THRESHOLD","pointer":"/materiality"}],"seq":1,"#,
            r#""subject":{"entry_ids":["GL-1","SL-1"],"match_id":"M-1","request_id":null},"#,
            r#""tier":"T2","ts":"2026-04-03T10:00:00Z"}"#
        );
        let ev = sample(1);
        let mut buf = Vec::new();
        canonical_json(&EventRef::from_new(1, GENESIS_PREV_HASH, &ev), &mut buf);
        assert_eq!(std::str::from_utf8(&buf).unwrap(), canonical);
        let linked = link(1, GENESIS_PREV_HASH, ev);
        assert_eq!(
            linked.hash,
            "580e4b1217317080ab36fba828347a50c786d76f4b2f682752809974fdc5e164"
        );
    }

    /// The serde form of an event without its hash, canonicalised by the reference JCS crate.
    fn reference_canonical(ev: &AuditEvent) -> Vec<u8> {
        let mut v = serde_json::to_value(ev).unwrap();
        v.as_object_mut().unwrap().shift_remove("hash");
        serde_json_canonicalizer::to_vec(&v).unwrap()
    }

    #[test]
    fn writer_equals_reference_jcs_on_sample() {
        for e in chain(3) {
            let mut buf = Vec::new();
            canonical_json(&EventRef::from_event(&e), &mut buf);
            assert_eq!(buf, reference_canonical(&e));
        }
    }

    proptest! {
        #[test]
        fn writer_equals_reference_jcs(
            s1 in "\\PC*|[\\x00-\\x7f]{0,12}",
            s2 in ".*",
            opt in proptest::option::of("[\\x00-\\x20\"\\\\a-z\u{7f}\u{2028}é😀]{0,8}"),
            ids in proptest::collection::vec("[\\x00-\\x7f]{0,5}", 0..4),
            seq in 1u64..(1u64 << 53),
        ) {
            let mut ev = sample(1);
            ev.rationale = opt.clone();
            ev.actor_id = s1.clone();
            ev.reasons[0].clause = s2.clone();
            ev.reasons[0].pointer = opt.clone();
            ev.subject.entry_ids = ids.clone();
            ev.accounts = ids;
            ev.subject.request_id = opt;
            ev.entity = None;
            let e = link(seq, &s1, ev);
            let mut buf = Vec::new();
            canonical_json(&EventRef::from_event(&e), &mut buf);
            prop_assert_eq!(buf, reference_canonical(&e));
        }
    }

    #[test]
    fn raw_canonical_columns_hash_like_parsed_values() {
        for e in chain(5) {
            let (r, s, a) = canonical_columns(&e.body);
            let mut view = EventRef::from_event(&e);
            view.reasons = Fragment::Raw(&r);
            view.subject = Fragment::Raw(&s);
            view.accounts = Fragment::Raw(&a);
            assert_eq!(compute_hash(&view), e.hash);
            // The same content in another key order is refused byte-exactly.
            let reordered = serde_json::to_string(&e.body.reasons).unwrap();
            view.reasons = Fragment::Raw(&reordered);
            let mut v = Verifier::new();
            v.feed(&view);
            let rep = v.finish();
            let p = rep
                .problems
                .iter()
                .find(|p| p.kind == ProblemKind::Unparseable)
                .unwrap();
            assert_eq!(p.seq, Some(e.seq));
            assert!(p.message.contains("canonical"), "{rep:?}");
        }
    }

    #[test]
    fn unparseable_rows_still_get_seq_and_link_checks() {
        let c = chain(4);
        let mut v = Verifier::new();
        v.feed(&EventRef::from_event(&c[0]));
        v.feed_unparseable(Some(3), Some(&c[2].hash), "column `ts` is not text");
        v.feed(&EventRef::from_event(&c[3]));
        let r = v.finish();
        let kinds: Vec<_> = r.problems.iter().map(|p| (p.seq, p.kind)).collect();
        assert_eq!(
            kinds,
            [
                (Some(2), ProblemKind::SeqGap),
                (Some(3), ProblemKind::Unparseable)
            ]
        );
    }

    #[test]
    fn intact_chain_verifies() {
        let r = verify(&chain(50), Verifier::new());
        assert!(r.ok, "{r:?}");
        assert_eq!(r.events, 50);
        assert_eq!(r.head_seq, 50);
        assert_eq!(r.head_hash, chain(50)[49].hash);
    }

    #[test]
    fn empty_chain_is_ok_with_genesis_head() {
        let r = Verifier::new().finish();
        assert!(r.ok);
        assert_eq!(r.head_hash, GENESIS_PREV_HASH);
    }

    #[test]
    fn edited_field_is_a_hash_mismatch_at_that_seq() {
        let mut c = chain(20);
        c[6].body.amount = Some("12500.01".into());
        let r = verify(&c, Verifier::new());
        assert!(!r.ok);
        assert_eq!(r.problems_total, 1);
        let p = r.first_problem().unwrap();
        assert_eq!((p.seq, p.kind), (Some(7), ProblemKind::HashMismatch));
    }

    #[test]
    fn deleted_event_is_a_gap_at_the_missing_seq() {
        let mut c = chain(20);
        c.remove(9);
        let r = verify(&c, Verifier::new());
        let p = r.first_problem().unwrap();
        assert_eq!((p.seq, p.kind), (Some(10), ProblemKind::SeqGap));
        assert!(p.message.contains("seq 10 is missing"), "{}", p.message);
    }

    #[test]
    fn missing_first_event_is_a_gap_at_one() {
        let c = chain(5);
        let r = verify(&c[1..], Verifier::new());
        let p = r.first_problem().unwrap();
        assert_eq!((p.seq, p.kind), (Some(1), ProblemKind::SeqGap));
    }

    #[test]
    fn swapped_contents_break_at_the_lower_seq() {
        let mut c = chain(20);
        let (a, b) = (c[4].clone(), c[11].clone());
        c[4] = AuditEvent { seq: 5, ..b };
        c[11] = AuditEvent { seq: 12, ..a };
        let r = verify(&c, Verifier::new());
        let p = r.first_problem().unwrap();
        assert_eq!((p.seq, p.kind), (Some(5), ProblemKind::PrevHashMismatch));
    }

    #[test]
    fn out_of_order_seq_is_reported() {
        let mut c = chain(5);
        c.swap(2, 3);
        let r = verify(&c, Verifier::new());
        let p = r.first_problem().unwrap();
        assert_eq!(p.seq, Some(3));
        assert!(r.problems.iter().any(|p| p.kind == ProblemKind::SeqOrder));
    }

    #[test]
    fn truncation_needs_expect_head() {
        let c = chain(30);
        let head = c[29].hash.clone();
        assert!(verify(&c[..25], Verifier::new()).ok);
        let r = verify(&c[..25], Verifier::new().expect_head(30, &head));
        let p = r.first_problem().unwrap();
        assert_eq!((p.seq, p.kind), (Some(26), ProblemKind::Truncated));
    }

    #[test]
    fn rehashed_tail_is_caught_by_expect_head() {
        let c = chain(30);
        let head = c[29].hash.clone();
        let mut forged: Vec<AuditEvent> = c[..19].to_vec();
        for (i, e) in c[19..].iter().enumerate() {
            let mut body = e.body.clone();
            if i == 0 {
                body.rationale = Some("forged".into());
            }
            let prev = forged.last().unwrap().hash.clone();
            forged.push(link(e.seq, &prev, body));
        }
        assert!(verify(&forged, Verifier::new()).ok);
        let r = verify(&forged, Verifier::new().expect_head(30, &head));
        let p = r.first_problem().unwrap();
        assert_eq!((p.seq, p.kind), (Some(30), ProblemKind::HeadMismatch));
        assert!(verify(&c, Verifier::new().expect_head(30, &head)).ok);
    }

    #[test]
    fn reasons_are_checked_against_known_policy_versions() {
        let c = chain(3);
        let good =
            serde_json::json!({"materiality": {"clause": "Amounts over 10,000 USD need a human"}});
        let bad = serde_json::json!({"materiality": {"clause": "something else"}});
        let empty = serde_json::json!({});
        let pv = "9f".repeat(32);
        let run = |doc: serde_json::Value| {
            let map = HashMap::from([(pv.clone(), doc)]);
            verify(&c, Verifier::new().with_policies(map))
        };
        assert!(run(good).ok);
        let r = run(bad);
        assert_eq!(r.problems_total, 3);
        assert_eq!(r.problems[0].kind, ProblemKind::ReasonClauseMismatch);
        assert_eq!(r.problems[0].seq, Some(1));
        assert_eq!(
            run(empty).problems[0].kind,
            ProblemKind::ReasonPointerUnresolved
        );
        // Unknown versions are not checked.
        let other = HashMap::from([("00".repeat(32), serde_json::json!({}))]);
        assert!(verify(&c, Verifier::new().with_policies(other)).ok);
    }
}
