//! ZStack's query grammar, for both API styles: REST `q=` strings (`f=v`, `f!=v`, `f>v`,
//! `f>=v`, `f<v`, `f<=v`, `f?=a,b`, `f!?=a,b`, `f~=pat`, `f!~=pat`, `f is null`, `f not null`),
//! RPC `conditions: [{name, op, value}]` (`=` `!=` `>` `>=` `<` `<=` `in` `not in` `is null`
//! `is not null` `like` `not like`, or the REST symbols), and the paging, counting, sorting and
//! field selection around them. Conditions are ANDed and evaluated over JSON inventories.
//! A condition's value is read by its field's type ([`FieldType`]: text, number, boolean, date,
//! version); a value that does not fit the type is refused naming the field, never compared
//! as text.

use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Like,
    NotLike,
    IsNull,
    NotNull,
}

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    pub value: String,
}

/// A whole query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub conditions: Vec<Condition>,
    pub limit: usize,
    pub start: usize,
    /// Only the total.
    pub count: bool,
    /// The total beside the inventories.
    pub reply_with_count: bool,
    /// (field, ascending).
    pub sort: Option<(String, bool)>,
    /// Only these fields of each inventory (empty: all).
    pub fields: Vec<String>,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            conditions: vec![],
            limit: DEFAULT_LIMIT,
            start: 0,
            count: false,
            reply_with_count: false,
            sort: None,
            fields: vec![],
        }
    }
}

/// The type of an inventory field: how a condition's value is read and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    /// A finite number (`NaN` and infinities are not).
    Number,
    /// `true` or `false` (any case); only `=`, `!=`, in, not in, like and null tests.
    Bool,
    /// A date in one of the forms `date` of [`run`] reads.
    Date,
    /// Numbers separated by dots (`1.2.0`), ordered number by number; any text for `=`, `!=`,
    /// in, not in and like.
    Version,
}

/// The default `limit` [vendor].
pub const DEFAULT_LIMIT: usize = 1000;

/// What a query answers: the page, and the total when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// `None` with `count=true` (only the total is answered).
    pub inventories: Option<Vec<Map<String, Value>>>,
    pub total: Option<usize>,
}

/// REST operators, longest first so `!?=` is not read as `!=`.
const SYMBOLS: &[(&str, Op)] = &[
    ("!?=", Op::NotIn),
    ("!~=", Op::NotLike),
    ("?=", Op::In),
    ("~=", Op::Like),
    ("!=", Op::Ne),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=", Op::Eq),
    (">", Op::Gt),
    ("<", Op::Lt),
];

/// Parse one REST `q` value.
pub fn parse_q(q: &str) -> Result<Condition, String> {
    let text = q.trim();
    for (suffix, op) in [(" is null", Op::IsNull), (" not null", Op::NotNull)] {
        if let Some(field) = text.strip_suffix(suffix) {
            return Ok(Condition {
                field: field.trim().to_string(),
                op,
                value: String::new(),
            });
        }
    }
    let at = text
        .find(['=', '!', '?', '~', '>', '<'])
        .ok_or_else(|| format!("invalid query condition[{q}]: no operator in it"))?;
    let (field, rest) = text.split_at(at);
    let (symbol, op) = SYMBOLS
        .iter()
        .find(|(s, _)| rest.starts_with(s))
        .ok_or_else(|| format!("invalid query condition[{q}]: unknown operator"))?;
    Ok(Condition {
        field: field.trim().to_string(),
        op: *op,
        value: rest[symbol.len()..].to_string(),
    })
}

/// Parse one RPC condition's operator (words, or the REST symbols).
pub fn parse_op(op: &str) -> Result<Op, String> {
    let word = op.trim().to_ascii_lowercase();
    Ok(match word.as_str() {
        "=" => Op::Eq,
        "!=" => Op::Ne,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        "in" | "?=" => Op::In,
        "not in" | "!?=" => Op::NotIn,
        "like" | "~=" => Op::Like,
        "not like" | "!~=" => Op::NotLike,
        "is null" => Op::IsNull,
        "is not null" | "not null" => Op::NotNull,
        _ => {
            return Err(format!(
                "invalid query op[{op}], allowed: =, !=, >, >=, <, <=, in, not in, like, not like, is null, is not null"
            ))
        }
    })
}

/// A REST `sort` value: `+field` or `-field` (a bare field sorts ascending).
pub fn parse_sort(sort: &str) -> (String, bool) {
    let s = sort.trim();
    if let Some(f) = s.strip_prefix('-') {
        (f.to_string(), false)
    } else {
        (s.strip_prefix('+').unwrap_or(s).to_string(), true)
    }
}

/// Text of a JSON value as the grammar compares it.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// SQL LIKE: `%` any run, `_` any one character; case-sensitive.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// Order a field's value and a literal by the field's type (the literal was checked by
/// [`check_value`]; a stored value that does not parse orders as text).
fn compare(
    field_value: &Value,
    literal: &str,
    kind: FieldType,
    date: &dyn Fn(&str) -> Option<i64>,
) -> Ordering {
    let a = text_of(field_value).unwrap_or_default();
    let literal = literal.trim();
    match kind {
        FieldType::Number => {
            if let (Some(x), Ok(y)) = (field_value.as_f64(), literal.parse::<f64>()) {
                return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
            }
        }
        FieldType::Date => {
            if let (Some(x), Some(y)) = (date(&a), date(literal)) {
                return x.cmp(&y);
            }
        }
        FieldType::Bool => return a.to_ascii_lowercase().cmp(&literal.to_ascii_lowercase()),
        FieldType::Version if is_version(literal) && is_version(&a) => {
            return plugboard_drivers::manifest::compare_versions(&a, literal)
        }
        _ => {}
    }
    a.as_str().cmp(literal)
}

/// Numbers separated by dots.
fn is_version(v: &str) -> bool {
    !v.is_empty()
        && v.split('.')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_ordering(op: Op) -> bool {
    matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le)
}

/// Whether `c`'s value fits its field's type; the error names the field and the value.
fn check_value(
    c: &Condition,
    kind: FieldType,
    date: &dyn Fn(&str) -> Option<i64>,
) -> Result<(), String> {
    if matches!(c.op, Op::IsNull | Op::NotNull | Op::Like | Op::NotLike) {
        return Ok(());
    }
    let values: Vec<&str> = if matches!(c.op, Op::In | Op::NotIn) {
        c.value.split(',').map(str::trim).collect()
    } else {
        vec![c.value.trim()]
    };
    let f = &c.field;
    for v in values {
        let fits = match kind {
            FieldType::Text => true,
            FieldType::Number => v.parse::<f64>().is_ok_and(f64::is_finite),
            FieldType::Bool => {
                if is_ordering(c.op) {
                    return Err(format!(
                        "invalid query condition on the boolean field [{f}], it is compared with =, !=, in or not in only"
                    ));
                }
                v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")
            }
            FieldType::Date => date(v).is_some(),
            FieldType::Version => !is_ordering(c.op) || is_version(v),
        };
        if !fits {
            let expected = match kind {
                FieldType::Text => "text",
                FieldType::Number => "a number",
                FieldType::Bool => "true or false",
                FieldType::Date => {
                    "a date (Dec 1, 2026 8:29:00 AM, 2026-12-01 08:29:00, RFC 3339, or milliseconds since 1970)"
                }
                FieldType::Version => "a version (numbers separated by dots, e.g. 1.2.0)",
            };
            return Err(format!(
                "invalid value[{v}] of field [{f}], it must be {expected}"
            ));
        }
    }
    Ok(())
}

/// Whether `inv` meets `c`.
fn matches(
    inv: &Map<String, Value>,
    c: &Condition,
    kind: FieldType,
    date: &dyn Fn(&str) -> Option<i64>,
) -> bool {
    let v = inv.get(&c.field).unwrap_or(&Value::Null);
    let text = text_of(v);
    let cmp = |literal: &str| compare(v, literal, kind, date);
    match c.op {
        Op::IsNull => text.is_none(),
        Op::NotNull => text.is_some(),
        _ if text.is_none() => false,
        Op::Eq => cmp(&c.value) == Ordering::Equal,
        Op::Ne => cmp(&c.value) != Ordering::Equal,
        Op::Gt => cmp(&c.value) == Ordering::Greater,
        Op::Ge => cmp(&c.value) != Ordering::Less,
        Op::Lt => cmp(&c.value) == Ordering::Less,
        Op::Le => cmp(&c.value) != Ordering::Greater,
        Op::In => c.value.split(',').any(|x| cmp(x) == Ordering::Equal),
        Op::NotIn => !c.value.split(',').any(|x| cmp(x) == Ordering::Equal),
        Op::Like => like(&text.unwrap_or_default(), &c.value),
        Op::NotLike => !like(&text.unwrap_or_default(), &c.value),
    }
}

/// Run `q` over `all` (inventories whose fields and their types are `known`); `date` turns a
/// date's text into a number to compare (e.g. ZStack's `Dec 1, 2026 8:29:00 AM`). Errors name
/// the field, the operator, the value or the parameter at fault.
pub fn run(
    q: &Query,
    all: Vec<Map<String, Value>>,
    known: &[(&str, FieldType)],
    date: &dyn Fn(&str) -> Option<i64>,
) -> Result<QueryResult, String> {
    let type_of = |f: &str, what: &str| {
        known
            .iter()
            .find(|(name, _)| *name == f)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| {
                let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                format!(
                    "invalid {what}[{f}], it's not a field of the inventory (fields: {})",
                    names.join(", ")
                )
            })
    };
    let check = |f: &str, what: &str| type_of(f, what).map(|_| ());
    let mut kinds = Vec::with_capacity(q.conditions.len());
    for c in &q.conditions {
        let kind = type_of(&c.field, "query field")?;
        check_value(c, kind, date)?;
        kinds.push(kind);
    }
    if let Some((f, _)) = &q.sort {
        check(f, "sort field")?;
    }
    for f in &q.fields {
        check(f, "field")?;
    }
    let mut hits: Vec<Map<String, Value>> = all
        .into_iter()
        .filter(|inv| {
            q.conditions
                .iter()
                .zip(&kinds)
                .all(|(c, kind)| matches(inv, c, *kind, date))
        })
        .collect();
    let total = hits.len();
    if q.count {
        return Ok(QueryResult {
            inventories: None,
            total: Some(total),
        });
    }
    if let Some((field, ascending)) = &q.sort {
        let kind = type_of(field, "sort field")?;
        hits.sort_by(|a, b| {
            let x = a.get(field).unwrap_or(&Value::Null);
            let y = b.get(field).unwrap_or(&Value::Null);
            let o = compare(x, &text_of(y).unwrap_or_default(), kind, date);
            if *ascending {
                o
            } else {
                o.reverse()
            }
        });
    }
    let page: Vec<Map<String, Value>> = hits
        .into_iter()
        .skip(q.start)
        .take(q.limit)
        .map(|inv| {
            if q.fields.is_empty() {
                inv
            } else {
                inv.into_iter()
                    .filter(|(k, _)| q.fields.iter().any(|f| f == k))
                    .collect()
            }
        })
        .collect();
    Ok(QueryResult {
        inventories: Some(page),
        total: q.reply_with_count.then_some(total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inv(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn data() -> Vec<Map<String, Value>> {
        vec![
            inv(json!({"name": "alpha", "version": "1.0", "deleted": false, "n": 3, "d": "x"})),
            inv(json!({"name": "beta", "version": "2.0", "deleted": true, "n": 10, "d": null})),
            inv(json!({"name": "gamma", "version": "1.5", "deleted": false, "n": 7, "d": "y"})),
        ]
    }

    const KNOWN: &[(&str, FieldType)] = &[
        ("name", FieldType::Text),
        ("version", FieldType::Version),
        ("deleted", FieldType::Bool),
        ("n", FieldType::Number),
        ("d", FieldType::Text),
    ];

    fn names(q: &Query) -> Vec<String> {
        run(q, data(), KNOWN, &|_| None)
            .unwrap()
            .inventories
            .unwrap()
            .into_iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn with(conds: &[&str]) -> Query {
        Query {
            conditions: conds.iter().map(|c| parse_q(c).unwrap()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rest_operators() {
        assert_eq!(names(&with(&["name=beta"])), ["beta"]);
        assert_eq!(names(&with(&["name!=beta"])), ["alpha", "gamma"]);
        assert_eq!(names(&with(&["n>3"])), ["beta", "gamma"]);
        assert_eq!(names(&with(&["n>=7"])), ["beta", "gamma"]);
        assert_eq!(names(&with(&["n<7"])), ["alpha"]);
        assert_eq!(names(&with(&["n<=7"])), ["alpha", "gamma"]);
        assert_eq!(names(&with(&["name?=alpha,gamma"])), ["alpha", "gamma"]);
        assert_eq!(names(&with(&["name!?=alpha,gamma"])), ["beta"]);
        assert_eq!(names(&with(&["name~=%mm%"])), ["gamma"]);
        assert_eq!(names(&with(&["name~=_eta"])), ["beta"]);
        assert_eq!(names(&with(&["name!~=%a"])), Vec::<String>::new());
        assert_eq!(names(&with(&["d is null"])), ["beta"]);
        assert_eq!(names(&with(&["d not null"])), ["alpha", "gamma"]);
        assert_eq!(names(&with(&["deleted=false", "n>3"])), ["gamma"]);
        assert_eq!(names(&with(&["version=1.5"])), ["gamma"]);
    }

    #[test]
    fn paging_sort_count_fields() {
        let mut q = Query {
            sort: Some(parse_sort("-n")),
            ..Default::default()
        };
        assert_eq!(names(&q), ["beta", "gamma", "alpha"]);
        q.start = 1;
        q.limit = 1;
        assert_eq!(names(&q), ["gamma"]);
        q.reply_with_count = true;
        assert_eq!(run(&q, data(), KNOWN, &|_| None).unwrap().total, Some(3));
        let counted = run(
            &Query {
                count: true,
                ..with(&["deleted=false"])
            },
            data(),
            KNOWN,
            &|_| None,
        )
        .unwrap();
        assert_eq!((counted.inventories, counted.total), (None, Some(2)));
        let only = run(
            &Query {
                fields: vec!["name".into()],
                ..with(&["name=alpha"])
            },
            data(),
            KNOWN,
            &|_| None,
        )
        .unwrap();
        assert_eq!(
            only.inventories.unwrap(),
            vec![inv(json!({"name": "alpha"}))]
        );
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert!(parse_q("name").unwrap_err().contains("name"));
        let e = run(&with(&["colour=red"]), data(), KNOWN, &|_| None).unwrap_err();
        assert!(e.contains("colour"), "{e}");
        assert!(parse_op("near").unwrap_err().contains("near"));
        assert_eq!(parse_op("NOT IN").unwrap(), Op::NotIn);
        assert_eq!(parse_op("is not null").unwrap(), Op::NotNull);
    }

    #[test]
    fn values_are_read_by_their_fields_type() {
        let err = |conds: &[&str]| run(&with(conds), data(), KNOWN, &|_| None).unwrap_err();
        let e = err(&["n>garbage"]);
        assert!(
            e.contains("[garbage]") && e.contains("field [n]") && e.contains("a number"),
            "{e}"
        );
        assert!(err(&["n<NaN"]).contains("field [n]"));
        assert!(err(&["n?=1,inf"]).contains("[inf]"));
        let e = err(&["version<NaN"]);
        assert!(
            e.contains("field [version]") && e.contains("a version"),
            "{e}"
        );
        assert!(err(&["deleted=maybe"]).contains("field [deleted]"));
        assert!(err(&["deleted>false"]).contains("boolean field [deleted]"));
        // Dates: a value no date form reads is refused, one that is is compared by time.
        let dated = vec![
            inv(json!({"name": "old", "at": "Dec 1, 2026 8:29:00 AM"})),
            inv(json!({"name": "new", "at": "Dec 2, 2026 8:29:00 AM"})),
        ];
        let known = &[("name", FieldType::Text), ("at", FieldType::Date)];
        let date = |t: &str| plugboard_core::time::parse_zstack(t);
        let e = run(&with(&["at>garbage"]), dated.clone(), known, &date).unwrap_err();
        assert!(e.contains("field [at]") && e.contains("a date"), "{e}");
        let found = run(&with(&["at>2026-12-01 12:00:00"]), dated, known, &date).unwrap();
        assert_eq!(found.inventories.unwrap()[0]["name"], "new");
        // Values that fit are compared by type: versions number by number, booleans in any case.
        assert_eq!(names(&with(&["version>1.10"])), ["beta"]);
        assert_eq!(names(&with(&["version<1.10"])), ["alpha", "gamma"]);
        assert_eq!(names(&with(&["deleted=TRUE"])), ["beta"]);
        assert_eq!(names(&with(&["version=abc"])), Vec::<String>::new());
        assert_eq!(names(&with(&["n>=7.0"])), ["beta", "gamma"]);
    }

    #[test]
    fn like_matches_sql() {
        assert!(like("abc", "a%"));
        assert!(like("abc", "%c"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("", "%"));
        assert!(like("a%c", "a%c"));
    }
}
