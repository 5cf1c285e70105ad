//! The audit rule engine: an instance's enabled rules compiled once per rule version — the
//! SQL-injection rules into one case-insensitive `RegexSet`, the risk-operation rules into
//! matchers over query type, database, client address, objects, rows and duration — and the
//! verdict for one statement (docs/dbss-audit.md → Rules): the first match by rank of each
//! kind, the higher level wins, the injection rule on a tie. Also what is done to statement
//! text before anything is stored: passwords masked, length capped.

use plugboard_store::dbss_audit::{RiskRule, SqlRule};
use regex::{Regex, RegexSet, RegexSetBuilder};
use std::net::IpAddr;
use std::sync::OnceLock;

/// Statement text kept per statement (longer text is cut at a character boundary).
pub const MAX_STATEMENT_BYTES: usize = 64 * 1024;

/// A statement as the rules see it.
#[derive(Debug, Clone, Default)]
pub struct Subject<'a> {
    pub query_type: &'a str,
    pub db_id: &'a str,
    pub client_ip: &'a str,
    /// `(schema, table)` of every object touched.
    pub objects: Vec<(&'a str, &'a str)>,
    pub sql: &'a str,
    pub rows: Option<i64>,
    pub duration_ms: Option<i64>,
    /// `SUCCESS` / `FAILED` for logins, empty otherwise.
    pub log_result: &'a str,
    pub client_port: i64,
    /// The session's database (catalog) name.
    pub database: &'a str,
    pub user: &'a str,
}

/// The rule a statement matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub risk_level: String,
    pub rule_id: String,
    pub rule_name: String,
    /// `SQL_INJECTION` / `RISK_OPERATION`.
    pub rule_type: &'static str,
}

impl Verdict {
    /// No rule matched.
    pub fn none() -> Self {
        Self {
            risk_level: "NO_RISK".into(),
            rule_id: String::new(),
            rule_name: String::new(),
            rule_type: "",
        }
    }
}

/// A risk level's weight (NO_RISK 0 … HIGH 3).
pub fn level_weight(level: &str) -> u8 {
    match level {
        "HIGH" => 3,
        "MEDIUM" => 2,
        "LOW" => 1,
        _ => 0,
    }
}

/// An address range of a rule's `client_ips` / `exception_ips`: `IP`, `IP-IP` or `IP/nn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange(u128, u128);

fn ip_num(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl IpRange {
    /// Parse one entry; `None` when it is none of the three forms.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some((a, b)) = s.split_once('-') {
            let (a, b) = (
                a.trim().parse::<IpAddr>().ok()?,
                b.trim().parse::<IpAddr>().ok()?,
            );
            if a.is_ipv4() != b.is_ipv4() || ip_num(a) > ip_num(b) {
                return None;
            }
            return Some(Self(ip_num(a), ip_num(b)));
        }
        if let Some((a, n)) = s.split_once('/') {
            let ip = a.trim().parse::<IpAddr>().ok()?;
            let bits: u32 = if ip.to_canonical().is_ipv4() { 32 } else { 128 };
            let n: u32 = n.trim().parse().ok().filter(|n| *n <= bits)?;
            let base = ip_num(ip);
            let host = match bits - n {
                0 => 0,
                128 => u128::MAX,
                k => (1u128 << k) - 1,
            };
            return Some(Self(base & !host, base | host));
        }
        let ip = s.parse::<IpAddr>().ok()?;
        Some(Self(ip_num(ip), ip_num(ip)))
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: &str) -> bool {
        ip.parse::<IpAddr>()
            .map(|ip| (self.0..=self.1).contains(&ip_num(ip)))
            .unwrap_or(false)
    }
}

/// Parse a comma list of ranges; the error names the entry that is none.
pub fn ip_list(field: &str, s: &str) -> Result<Vec<IpRange>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            IpRange::parse(e).ok_or_else(|| {
                format!("{field}: `{e}` is not an IP address, IP-IP range or IP/prefix")
            })
        })
        .collect()
}

/// Compare `value` with `limit` by a rule's symbol; `None` = the condition is off.
fn compare(symbol: &str, value: Option<i64>, limit: i64) -> Option<bool> {
    if symbol.is_empty() || symbol == "NO_MATCH" {
        return None;
    }
    let Some(v) = value else {
        return Some(false);
    };
    Some(match symbol {
        "GREATER" => v > limit,
        "GREATER_EQUAL" => v >= limit,
        "LESS" => v < limit,
        "LESS_EQUAL" => v <= limit,
        "EQUAL" => v == limit,
        _ => false,
    })
}

#[derive(Debug)]
struct RiskMatcher {
    rule: RiskRule,
    actions: Vec<String>,
    db_ids: Vec<String>,
    clients: Vec<IpRange>,
    exceptions: Vec<IpRange>,
    /// `(schema, table)` patterns; empty = any.
    objects: Vec<(String, String)>,
}

impl RiskMatcher {
    fn new(rule: &RiskRule) -> Self {
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        };
        let objects = serde_json::from_str::<Vec<serde_json::Value>>(&rule.schemas)
            .unwrap_or_default()
            .iter()
            .map(|o| {
                let f = |k: &str| o[k].as_str().unwrap_or("").to_string();
                let (s, t) = (f("schema"), f("table"));
                if rule.ignore_case {
                    (s.to_lowercase(), t.to_lowercase())
                } else {
                    (s, t)
                }
            })
            .filter(|(s, t)| !(s.is_empty() && t.is_empty()))
            .collect();
        Self {
            actions: list(&rule.action)
                .into_iter()
                .filter(|a| a != "ALL")
                .collect(),
            db_ids: list(&rule.db_ids)
                .into_iter()
                .filter(|a| a != "ALL")
                .collect(),
            clients: ip_list("client_ips", &rule.client_ips).unwrap_or_default(),
            exceptions: ip_list("exception_ips", &rule.exception_ips).unwrap_or_default(),
            objects,
            rule: rule.clone(),
        }
    }

    fn matches(&self, s: &Subject<'_>) -> bool {
        let login = s.query_type == "LOGIN";
        if self.rule.kind == "LOGIN" {
            if !login {
                return false;
            }
            if !self.rule.log_result.is_empty() && self.rule.log_result != s.log_result {
                return false;
            }
        } else if self.actions.is_empty() {
            if login {
                return false;
            }
        } else if !self.actions.iter().any(|a| a == s.query_type) {
            return false;
        }
        if !self.db_ids.is_empty() && !self.db_ids.iter().any(|d| d == s.db_id) {
            return false;
        }
        if !self.clients.is_empty() && !self.clients.iter().any(|r| r.contains(s.client_ip)) {
            return false;
        }
        if self.exceptions.iter().any(|r| r.contains(s.client_ip)) {
            return false;
        }
        if !self.objects.is_empty() {
            let hit = s.objects.iter().any(|(schema, table)| {
                let (schema, table) = if self.rule.ignore_case {
                    (schema.to_lowercase(), table.to_lowercase())
                } else {
                    (schema.to_string(), table.to_string())
                };
                self.objects.iter().any(|(ps, pt)| {
                    (ps.is_empty() || *ps == schema) && (pt.is_empty() || *pt == table)
                })
            });
            if !hit {
                return false;
            }
        }
        let rows = compare(&self.rule.affect_symbol, s.rows, self.rule.affect_rows);
        let time = compare(
            &self.rule.execution_symbol,
            s.duration_ms,
            self.rule.execution_time,
        );
        rows.unwrap_or(true) && time.unwrap_or(true)
    }
}

/// An instance's enabled rules, compiled.
#[derive(Debug)]
pub struct Compiled {
    injection: RegexSet,
    /// Parallel to the set's patterns, by rank.
    injection_rules: Vec<SqlRule>,
    risk: Vec<RiskMatcher>,
    /// The ON scopes; `None` = every statement is audited (no scope rules given).
    scopes: Option<Vec<super::scopes::ScopeMatcher>>,
}

impl Compiled {
    /// Compile the enabled rules (each list by rank). A stored regex that does not compile
    /// (it was checked when saved) is left out rather than disabling the whole set.
    pub fn new(sql_rules: &[SqlRule], risk_rules: &[RiskRule]) -> Self {
        let mut injection_rules: Vec<SqlRule> = sql_rules
            .iter()
            .filter(|r| r.status == "ON" && compile_one(&r.regex).is_ok())
            .cloned()
            .collect();
        injection_rules.sort_by_key(|r| r.rank);
        let injection = RegexSetBuilder::new(injection_rules.iter().map(|r| r.regex.as_str()))
            .case_insensitive(true)
            .size_limit(64 << 20)
            .build()
            .unwrap_or_else(|_| RegexSet::empty());
        let mut risk: Vec<RiskMatcher> = risk_rules
            .iter()
            .filter(|r| r.status == "ON")
            .map(RiskMatcher::new)
            .collect();
        risk.sort_by_key(|m| m.rule.rank);
        Self {
            injection,
            injection_rules,
            risk,
            scopes: None,
        }
    }

    /// The same rules, auditing only what the ON `scopes` admit.
    pub fn with_scopes(mut self, scopes: &[plugboard_store::dbss_audit::Scope]) -> Self {
        self.scopes = Some(
            scopes
                .iter()
                .filter(|s| s.status == "ON")
                .map(super::scopes::ScopeMatcher::new)
                .collect(),
        );
        self
    }

    /// The scope admitting a statement (`("", "")` without scope rules); `None` = not audited.
    pub fn admit(&self, s: &Subject<'_>) -> Option<(String, String)> {
        match &self.scopes {
            None => Some((String::new(), String::new())),
            Some(list) => super::scopes::admit(list, s).map(|m| (m.id.clone(), m.name.clone())),
        }
    }

    /// The verdict for one statement.
    pub fn judge(&self, s: &Subject<'_>) -> Verdict {
        let injection = if s.query_type == "LOGIN" || s.sql.is_empty() {
            None
        } else {
            self.injection
                .matches(s.sql)
                .iter()
                .next()
                .map(|i| &self.injection_rules[i])
        };
        let risk = self.risk.iter().find(|m| m.matches(s)).map(|m| &m.rule);
        match (injection, risk) {
            (Some(i), Some(r)) if level_weight(&r.risk_level) > level_weight(&i.risk_level) => {
                risk_verdict(r)
            }
            (Some(i), _) => Verdict {
                risk_level: i.risk_level.clone(),
                rule_id: i.id.clone(),
                rule_name: i.name.clone(),
                rule_type: "SQL_INJECTION",
            },
            (None, Some(r)) => risk_verdict(r),
            (None, None) => Verdict::none(),
        }
    }
}

fn risk_verdict(r: &RiskRule) -> Verdict {
    Verdict {
        risk_level: r.risk_level.clone(),
        rule_id: r.id.clone(),
        rule_name: r.name.clone(),
        rule_type: "RISK_OPERATION",
    }
}

/// Whether a rule's regex compiles (Rust `regex` syntax, case-insensitive).
pub fn compile_one(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(8 << 20)
        .build()
}

fn password_patterns() -> &'static [Regex] {
    static P: OnceLock<Vec<Regex>> = OnceLock::new();
    P.get_or_init(|| {
        [
            // IDENTIFIED BY 'x' / IDENTIFIED BY PASSWORD 'x' / IDENTIFIED WITH p BY|AS 'x' / VIA p USING 'x'
            r"(?is)\b(identified\s+(?:(?:with|via)\s+[`'\w]+\s+)?(?:by|as|using)\s+(?:password\s*\(?\s*)?)('(?:[^'\\]|''|\\.)*'|\x22(?:[^\x22\\]|\\.)*\x22)",
            // PASSWORD 'x', PASSWORD = 'x', PASSWORD('x'), ENCRYPTED PASSWORD 'x'
            r"(?is)\b(password\s*(?:=\s*)?(?:password\s*)?\(?\s*)('(?:[^'\\]|''|\\.)*'|\x22(?:[^\x22\\]|\\.)*\x22)",
        ]
        .iter()
        .filter_map(|p| Regex::new(p).ok())
        .collect()
    })
}

/// The statement text to store: passwords replaced by `'******'`, then cut to
/// [`MAX_STATEMENT_BYTES`] at a character boundary.
pub fn sanitize_statement(sql: &str) -> String {
    let mut text = sql.to_string();
    for re in password_patterns() {
        if re.is_match(&text) {
            text = re.replace_all(&text, "${1}'******'").into_owned();
        }
    }
    if text.len() > MAX_STATEMENT_BYTES {
        let mut end = MAX_STATEMENT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The vendor query type of a statement, from its command tag (pgaudit) or, without one,
/// its first keywords (docs/dbss-audit.md → query types).
pub fn query_type(command: &str, sql: &str) -> &'static str {
    let words: Vec<String> = if command.trim().is_empty() {
        first_words(sql, 3)
    } else {
        command
            .split_whitespace()
            .take(3)
            .map(str::to_ascii_uppercase)
            .collect()
    };
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let lower = sql.to_ascii_lowercase();
    match (w(0), w(1)) {
        ("SELECT", _) | ("WITH", _) if has_for_update(&lower) => "SELECT_FOR_UPDATE",
        ("SELECT", "INTO") if command.is_empty() => "SELECT",
        ("SELECT", _) => "SELECT",
        ("INSERT", _) | ("REPLACE", _) => {
            if lower.contains("select") {
                "INSERT_SELECT"
            } else {
                "INSERT"
            }
        }
        ("UPDATE", _) => "UPDATE",
        ("DELETE", _) => "DELETE",
        ("CREATE", "TABLE")
        | ("CREATE", "TEMPORARY")
        | ("CREATE", "TEMP")
        | ("CREATE", "UNLOGGED")
            if lower.contains("table") =>
        {
            "CREATE_TABLE"
        }
        ("CREATE", "TABLESPACE") => "CREATE_TABLESPACE",
        ("DROP", "TABLE") => "DROP_TABLE",
        ("DROP", "TABLESPACE") => "DROP_TABLESPACE",
        ("CREATE", "USER") => "CREATE_USER",
        ("CREATE", "ROLE") if lower.contains("login") => "CREATE_USER",
        ("DROP", "USER") | ("DROP", "ROLE") => "DROP_USER",
        ("GRANT", _) => "GRANT",
        _ => "OPERATE",
    }
}

fn has_for_update(lower: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\bfor\s+(no\s+key\s+)?(update|share)\b").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(lower))
}

/// The first `n` keywords of a statement, upper-cased, past leading comments and parentheses.
fn first_words(sql: &str, n: usize) -> Vec<String> {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest
                .split_once('\n')
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest
                .split_once("*/")
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(rest) = s.strip_prefix('(') {
            s = rest.trim_start();
        } else {
            break;
        }
    }
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

#[cfg(test)]
mod tests;
