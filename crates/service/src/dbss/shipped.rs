//! The rules every audit instance starts with (docs/dbss-audit.md → Built-in rules): five
//! system risk-operation rules and ten SQL-injection rules, with ids stable per instance so
//! that seeding them twice (or from two processes) inserts each once.

use plugboard_core::time::Micros;
use plugboard_store::dbss_audit::{RiskRule, SqlRule};
use sha2::{Digest, Sha256};

/// A stable 20-character id for something an instance ships with.
pub fn stable_id(instance_id: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{instance_id}:{key}").as_bytes());
    hex::encode(&digest[..10])
}

/// The id and name of the full-audit scope every instance has.
pub fn full_audit_scope(instance_id: &str) -> (String, &'static str) {
    (stable_id(instance_id, "scope:full-audit"), "全审计规则")
}

/// (zh name, English name, level, action, rows symbol, rows, time symbol, ms, type, log_result)
type RiskRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
    i64,
    &'static str,
    &'static str,
);

const RISK: &[RiskRow] = &[
    (
        "数据库拖库检测",
        "Database_Drag_Detection",
        "HIGH",
        "SELECT",
        "GREATER_EQUAL",
        5000,
        "NO_MATCH",
        0,
        "OPERATE",
        "",
    ),
    (
        "数据库慢SQL检测",
        "Database_Slow_SQL_Detection",
        "LOW",
        "ALL",
        "NO_MATCH",
        0,
        "GREATER_EQUAL",
        1000,
        "OPERATE",
        "",
    ),
    (
        "批量数据篡改检测",
        "Batch_Data_Tampering_Detection",
        "MEDIUM",
        "UPDATE",
        "GREATER_EQUAL",
        1000,
        "NO_MATCH",
        0,
        "OPERATE",
        "",
    ),
    (
        "批量数据删除检测",
        "Batch_Data_Deletion_Detection",
        "MEDIUM",
        "DELETE",
        "GREATER_EQUAL",
        1000,
        "NO_MATCH",
        0,
        "OPERATE",
        "",
    ),
    (
        "登录失败检测",
        "Login_Failure_Detection",
        "MEDIUM",
        "LOGIN",
        "NO_MATCH",
        0,
        "NO_MATCH",
        0,
        "LOGIN",
        "FAILED",
    ),
];

/// (name, level, feature, regex)
const INJECTION: &[(&str, &str, &str, &str)] = &[
    (
        "SQL_Injection_Stacked_Drop",
        "HIGH",
        "; DROP/TRUNCATE/ALTER",
        r";\s*(drop|truncate|alter)\s+(table|database|schema|user)\b",
    ),
    (
        "SQL_Injection_Union_Select",
        "HIGH",
        "UNION SELECT",
        r"\bunion\b(\s+all)?\s+select\b.*\b(from\s+)?(information_schema|pg_catalog|mysql\.user|pg_shadow)",
    ),
    (
        "SQL_Injection_Tautology",
        "HIGH",
        "OR 1=1",
        r"\b(or|and)\s+'?(1|0|'a')'?\s*=\s*'?(1|0|'a')'?",
    ),
    (
        "SQL_Injection_Time_Based",
        "HIGH",
        "SLEEP/pg_sleep/BENCHMARK/WAITFOR",
        r"\b(sleep|pg_sleep|benchmark)\s*\(|\bwaitfor\s+delay\b",
    ),
    (
        "SQL_Injection_Error_Based",
        "MEDIUM",
        "extractvalue/updatexml/cast error",
        r"\b(extractvalue|updatexml|exp\s*\(\s*~)\s*\(",
    ),
    (
        "SQL_Injection_File_Access",
        "HIGH",
        "INTO OUTFILE/LOAD_FILE/COPY PROGRAM",
        r"\binto\s+(out|dump)file\b|\bload_file\s*\(|\bcopy\b.+\b(to|from)\s+program\b|\bpg_read_file\s*\(",
    ),
    (
        "SQL_Injection_Command_Exec",
        "HIGH",
        "xp_cmdshell/lo_import",
        r"\bxp_cmdshell\b|\blo_(import|export)\s*\(",
    ),
    (
        "SQL_Injection_Comment_Truncation",
        "MEDIUM",
        "'-- / '#",
        r"'\s*(--|#|/\*)",
    ),
    (
        "SQL_Injection_Schema_Probe",
        "LOW",
        "information_schema probing",
        r"\bfrom\s+(information_schema\.(tables|columns)|pg_catalog\.pg_(tables|attribute))\b",
    ),
    (
        "SQL_Injection_Hex_Char_Encoding",
        "LOW",
        "0x… / CHAR() chains",
        r"(0x[0-9a-f]{16,})|(\bchar\s*\(\s*\d+\s*(,\s*\d+\s*){4,}\))",
    ),
];

/// The shipped rules of `instance_id`.
pub fn rules(instance_id: &str, now: Micros) -> (Vec<RiskRule>, Vec<SqlRule>) {
    let risk = RISK
        .iter()
        .enumerate()
        .map(
            |(i, (zh, en, level, action, asym, rows, esym, ms, kind, log_result))| RiskRule {
                id: stable_id(instance_id, &format!("risk:{en}")),
                instance_id: instance_id.into(),
                name: zh.to_string(),
                name_english: en.to_string(),
                rule_type: "SYSTEM".into(),
                kind: kind.to_string(),
                status: "ON".into(),
                rank: i as i64 + 1,
                risk_level: level.to_string(),
                action: action.to_string(),
                schemas: "[]".into(),
                ignore_case: true,
                db_ids: String::new(),
                client_ips: String::new(),
                exception_ips: String::new(),
                affect_symbol: asym.to_string(),
                affect_rows: *rows,
                execution_symbol: esym.to_string(),
                execution_time: *ms,
                log_result: log_result.to_string(),
                created_at: now,
            },
        )
        .collect();
    let sql = INJECTION
        .iter()
        .enumerate()
        .map(|(i, (name, level, feature, regex))| SqlRule {
            id: stable_id(instance_id, &format!("sql:{name}")),
            instance_id: instance_id.into(),
            name: name.to_string(),
            rule_type: "SYSTEM".into(),
            status: "ON".into(),
            rank: i as i64 + 1,
            risk_level: level.to_string(),
            feature: feature.to_string(),
            regex: regex.to_string(),
            created_at: now,
        })
        .collect();
    (risk, sql)
}
