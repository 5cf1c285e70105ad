//! ZStack's query grammar, for both API styles: REST `q=` strings (`f=v`, `f!=v`, `f>v`,
//! `f>=v`, `f<v`, `f<=v`, `f?=a,b`, `f!?=a,b`, `f~=pat`, `f!~=pat`, `f is null`, `f not null`),
//! RPC `conditions: [{name, op, value}]` (`=` `!=` `>` `>=` `<` `<=` `in` `not in` `is null`
//! `is not null` `like` `not like`, or the REST symbols), and the paging, counting, sorting and
//! field selection around them. Conditions are ANDed and evaluated over JSON inventories.

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

/// Order two values of a field: numbers numerically, dates by time, the rest as text.
fn compare(field_value: &Value, literal: &str, order: &dyn Fn(&str) -> Option<i64>) -> Ordering {
    if let (Some(a), Some(b)) = (field_value.as_f64(), literal.parse::<f64>().ok()) {
        return a.partial_cmp(&b).unwrap_or(Ordering::Equal);
    }
    let a = text_of(field_value).unwrap_or_default();
    if let (Some(x), Some(y)) = (order(&a), order(literal)) {
        return x.cmp(&y);
    }
    a.as_str().cmp(literal)
}

/// Whether `inv` meets `c`; `order` maps a date field's text to a number (`None`: not a date).
fn matches(inv: &Map<String, Value>, c: &Condition, order: &dyn Fn(&str) -> Option<i64>) -> bool {
    let v = inv.get(&c.field).unwrap_or(&Value::Null);
    let text = text_of(v);
    match c.op {
        Op::IsNull => text.is_none(),
        Op::NotNull => text.is_some(),
        _ if text.is_none() => false,
        Op::Eq => compare(v, &c.value, order) == Ordering::Equal,
        Op::Ne => compare(v, &c.value, order) != Ordering::Equal,
        Op::Gt => compare(v, &c.value, order) == Ordering::Greater,
        Op::Ge => compare(v, &c.value, order) != Ordering::Less,
        Op::Lt => compare(v, &c.value, order) == Ordering::Less,
        Op::Le => compare(v, &c.value, order) != Ordering::Greater,
        Op::In => c
            .value
            .split(',')
            .any(|x| compare(v, x.trim(), order) == Ordering::Equal),
        Op::NotIn => !c
            .value
            .split(',')
            .any(|x| compare(v, x.trim(), order) == Ordering::Equal),
        Op::Like => like(&text.unwrap_or_default(), &c.value),
        Op::NotLike => !like(&text.unwrap_or_default(), &c.value),
    }
}

/// Run `q` over `all` (inventories whose fields are `known`); `date` turns a date field's
/// text into a number to compare (e.g. ZStack's `Dec 1, 2026 8:29:00 AM`). Errors name the
/// field, the operator or the parameter at fault.
pub fn run(
    q: &Query,
    all: Vec<Map<String, Value>>,
    known: &[&str],
    date: &dyn Fn(&str) -> Option<i64>,
) -> Result<QueryResult, String> {
    let check = |f: &str, what: &str| {
        if known.contains(&f) {
            Ok(())
        } else {
            Err(format!(
                "invalid {what}[{f}], it's not a field of the inventory (fields: {})",
                known.join(", ")
            ))
        }
    };
    for c in &q.conditions {
        check(&c.field, "query field")?;
    }
    if let Some((f, _)) = &q.sort {
        check(f, "sort field")?;
    }
    for f in &q.fields {
        check(f, "field")?;
    }
    let mut hits: Vec<Map<String, Value>> = all
        .into_iter()
        .filter(|inv| q.conditions.iter().all(|c| matches(inv, c, date)))
        .collect();
    let total = hits.len();
    if q.count {
        return Ok(QueryResult {
            inventories: None,
            total: Some(total),
        });
    }
    if let Some((field, ascending)) = &q.sort {
        hits.sort_by(|a, b| {
            let x = a.get(field).unwrap_or(&Value::Null);
            let y = b.get(field).unwrap_or(&Value::Null);
            let o = compare(x, &text_of(y).unwrap_or_default(), date);
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

    const KNOWN: &[&str] = &["name", "version", "deleted", "n", "d"];

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
    fn like_matches_sql() {
        assert!(like("abc", "a%"));
        assert!(like("abc", "%c"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("", "%"));
        assert!(like("a%c", "a%c"));
    }
}
