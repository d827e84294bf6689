//! The raw, span-carrying shape of a policy file: a generic YAML tree where every node and
//! every mapping key keeps the `line:col` it came from.
//!
//! Why a generic tree and not `#[derive(Deserialize)]` structs with `deny_unknown_fields`:
//! serde stops at the first unknown or missing field, and the brief asks for *every* problem to
//! be reported. So the YAML is read once by serde-saphyr (which owns syntax errors, alias-bomb
//! limits and positions) into [`Node`], with duplicate keys passed through to us
//! (`DuplicateKeyPolicy::PassThrough`) so they can be reported with both positions and the
//! rest of the file still checked. `validate.rs` then walks the tree against schema v1,
//! rejecting unknown keys at the key's own position.
//!
//! Scalars keep their resolved YAML type (so an unquoted `10000.00` is a float and can be
//! rejected as "must be a quoted decimal string") and their source text when the parser
//! exposes byte offsets. No I/O here.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A 1-based position in the policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, 1-based (0 when unknown).
    pub line: usize,
    /// Column in characters, 1-based (0 when unknown).
    pub col: usize,
}

impl Pos {
    fn from_location(loc: &serde_saphyr::Location) -> Pos {
        Pos {
            line: usize::try_from(loc.line()).unwrap_or(0),
            col: usize::try_from(loc.column()).unwrap_or(0),
        }
    }
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Where the node starts.
    pub pos: Pos,
    /// Byte range of the node's source text, when the parser reports it.
    pub bytes: Option<(usize, usize)>,
}

/// A mapping entry: the key (with its own position) and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key node (normally a string scalar).
    pub key: Node,
    /// The value node.
    pub value: Node,
}

/// What a node holds, with YAML's implicit typing already applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`, `~` or empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float (unquoted `1.5`, `.inf`).
    Float(f64),
    /// A string (quoted, or plain text that is not a number/bool/null).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, entries in file order, duplicates kept.
    Map(Vec<Entry>),
}

impl Kind {
    /// A short name of the YAML type, for messages (`a string`, `a mapping`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a sequence",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The scalar as text for messages (`"-5"`, `10000.5`, `true`); collections are described.
    pub fn display(&self) -> String {
        match self {
            Kind::Null => "null".to_string(),
            Kind::Bool(b) => b.to_string(),
            Kind::Int(i) => i.to_string(),
            Kind::Float(f) => f.to_string(),
            Kind::Str(s) => format!("{s:?}"),
            Kind::Seq(_) => "a sequence".to_string(),
            Kind::Map(_) => "a mapping".to_string(),
        }
    }
}

impl Node {
    /// The node as JSON, for `Policy::document`. Duplicate keys keep the first value, like the
    /// validated model; non-finite floats become `null`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    Value::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    Value::from(v)
                } else {
                    Value::String(i.to_string())
                }
            }
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => {
                let mut m = serde_json::Map::new();
                for e in entries {
                    let k = match &e.key.kind {
                        Kind::Str(s) => s.clone(),
                        other => other.display(),
                    };
                    m.entry(k).or_insert_with(|| e.value.to_json());
                }
                Value::Object(m)
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<Kind> = Spanned::deserialize(d)?;
        let span = s.referenced.span();
        let bytes = match (span.byte_offset(), span.byte_len()) {
            (Some(o), Some(l)) => usize::try_from(o)
                .ok()
                .zip(usize::try_from(l).ok())
                .map(|(o, l)| (o, o.saturating_add(l))),
            _ => None,
        };
        Ok(Node {
            kind: s.value,
            pos: Pos::from_location(&s.referenced),
            bytes,
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Int(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Kind, E> {
        Ok(i128::try_from(v)
            .map(Kind::Int)
            .unwrap_or_else(|_| Kind::Str(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push(Entry { key, value });
        }
        Ok(Kind::Map(entries))
    }
}

/// A YAML error that stopped parsing: message and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The parser's message, without location suffix.
    pub message: String,
    /// Where, when known.
    pub pos: Pos,
}

/// Parses policy bytes into a [`Node`] tree. Duplicate keys are kept (the validator reports
/// them); merge keys are expanded; alias expansion is bounded by serde-saphyr's budget.
pub fn parse(src: &[u8]) -> Result<Node, SyntaxError> {
    let text = match std::str::from_utf8(src) {
        Ok(t) => t,
        Err(e) => {
            let (line, col) = line_col_of_byte(src, e.valid_up_to());
            return Err(SyntaxError {
                message: "the file is not valid UTF-8".to_string(),
                pos: Pos { line, col },
            });
        }
    };
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        strict_booleans: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|e| {
        use serde_saphyr::MessageFormatter;
        let raw = serde_saphyr::DefaultMessageFormatter.format_message(&e);
        let message: String = raw
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        SyntaxError {
            message,
            pos: e
                .location()
                .map(|l| Pos::from_location(&l))
                .unwrap_or_default(),
        }
    })
}

/// 1-based line and character column of a byte offset (for UTF-8 errors).
fn line_col_of_byte(src: &[u8], offset: usize) -> (usize, usize) {
    let before = src.get(..offset).unwrap_or(src);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(before.get(line_start..).unwrap_or_default())
        .chars()
        .count()
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn map(n: &Node) -> &[Entry] {
        match &n.kind {
            Kind::Map(m) => m,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn keys_and_values_carry_one_based_positions() {
        let n = parse(b"a: 1\nb:\n  c: \"x\"\n").unwrap();
        let m = map(&n);
        assert_eq!(m[0].key.pos, Pos { line: 1, col: 1 });
        assert_eq!(m[0].value.pos, Pos { line: 1, col: 4 });
        let inner = map(&m[1].value);
        assert_eq!(inner[0].key.pos, Pos { line: 3, col: 3 });
        assert_eq!(inner[0].value.pos, Pos { line: 3, col: 6 });
        assert_eq!(inner[0].value.kind, Kind::Str("x".into()));
    }

    #[test]
    fn duplicate_keys_are_passed_through_in_order() {
        let n = parse(b"a: 1\na: 2\n").unwrap();
        let m = map(&n);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].key.pos, Pos { line: 2, col: 1 });
        assert_eq!(m[1].value.kind, Kind::Int(2));
        // The JSON document keeps the first, like the validator.
        assert_eq!(n.to_json(), serde_json::json!({"a": 1}));
    }

    #[test]
    fn scalars_keep_their_yaml_type_and_source_text() {
        let src = b"q: \"10000.00\"\nu: 10000.00\nb: true\ny: yes\nn:\n";
        let n = parse(src).unwrap();
        let m = map(&n);
        assert_eq!(m[0].value.kind, Kind::Str("10000.00".into()));
        assert!(matches!(m[1].value.kind, Kind::Float(_)));
        let (a, b) = m[1].value.bytes.unwrap();
        assert_eq!(&src[a..b], b"10000.00");
        assert_eq!(m[2].value.kind, Kind::Bool(true));
        // strict booleans: YAML 1.1 `yes` stays a string.
        assert_eq!(m[3].value.kind, Kind::Str("yes".into()));
        assert_eq!(m[4].value.kind, Kind::Null);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse(b"a: [1\n").unwrap_err();
        assert_eq!(e.pos, Pos { line: 1, col: 4 });
        let e = parse(b"a: 1\n  b: 2\n").unwrap_err();
        assert_eq!(e.pos.line, 2);
        let e = parse(b"ok: 1\nbad: \xff\n").unwrap_err();
        assert_eq!(e.pos, Pos { line: 2, col: 6 });
        assert!(e.message.contains("UTF-8"));
    }

    #[test]
    fn deep_nesting_and_alias_bombs_are_refused_not_crashed() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(deep.as_bytes()).is_err());
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(parse(bomb.as_bytes()).is_err());
    }
}
