//! Unit tests of the rule engine: verdicts of the shipped rules, thresholds, password masking, IP ranges and query types.
use super::*;
use crate::dbss::shipped;

fn compiled() -> Compiled {
    let (risk, sql) = shipped::rules("i", 0);
    Compiled::new(&sql, &risk)
}

fn subject<'a>(sql: &'a str, qt: &'a str) -> Subject<'a> {
    Subject {
        query_type: qt,
        db_id: "db",
        client_ip: "10.0.0.7",
        sql,
        ..Default::default()
    }
}

#[test]
fn a_tautology_is_high_and_a_plain_update_no_risk() {
    let c = compiled();
    let v = c.judge(&subject("SELECT * FROM t WHERE name = '' OR 1=1", "SELECT"));
    assert_eq!(v.risk_level, "HIGH");
    assert_eq!(v.rule_name, "SQL_Injection_Tautology");
    assert_eq!(v.rule_type, "SQL_INJECTION");
    let mut s = subject("UPDATE t SET a = 1 WHERE id = 3", "UPDATE");
    s.rows = Some(1);
    assert_eq!(c.judge(&s), Verdict::none());
}

#[test]
fn thresholds_need_the_value() {
    let c = compiled();
    let mut s = subject("select * from big", "SELECT");
    assert_eq!(c.judge(&s).risk_level, "NO_RISK", "rows unknown: no match");
    s.rows = Some(5000);
    let v = c.judge(&s);
    assert_eq!(
        (v.risk_level.as_str(), v.rule_type),
        ("HIGH", "RISK_OPERATION")
    );
    let mut slow = subject("select pg_sleep(2)", "SELECT");
    slow.duration_ms = Some(2000);
    assert_eq!(
        c.judge(&slow).rule_name,
        "SQL_Injection_Time_Based",
        "HIGH beats LOW"
    );
    let mut failed = subject("", "LOGIN");
    failed.log_result = "FAILED";
    assert_eq!(c.judge(&failed).risk_level, "MEDIUM");
    failed.log_result = "SUCCESS";
    assert_eq!(c.judge(&failed).risk_level, "NO_RISK");
}

#[test]
fn passwords_are_masked() {
    for (sent, kept) in [
        (
            "CREATE USER bob WITH PASSWORD 's3cret'",
            "CREATE USER bob WITH PASSWORD '******'",
        ),
        (
            "alter role x encrypted password 'a''b' valid until 'infinity'",
            "alter role x encrypted password '******' valid until 'infinity'",
        ),
        (
            "CREATE USER 'u'@'%' IDENTIFIED BY 'pw'",
            "CREATE USER 'u'@'%' IDENTIFIED BY '******'",
        ),
        (
            "SET PASSWORD FOR u = PASSWORD('x')",
            "SET PASSWORD FOR u = PASSWORD('******')",
        ),
        (
            "grant all on *.* to u identified via ed25519 using 'h'",
            "grant all on *.* to u identified via ed25519 using '******'",
        ),
        ("select 'password' from t", "select 'password' from t"),
    ] {
        assert_eq!(sanitize_statement(sent), kept, "{sent}");
    }
    let long = "x".repeat(MAX_STATEMENT_BYTES + 10) + "é";
    assert_eq!(sanitize_statement(&long).len(), MAX_STATEMENT_BYTES);
}

#[test]
fn ip_ranges() {
    let r = ip_list("client_ips", "10.0.0.0/24, 10.1.0.1-10.1.0.9,::1").expect("ranges");
    assert!(r[0].contains("10.0.0.200") && !r[0].contains("10.0.1.1"));
    assert!(r[1].contains("10.1.0.5") && !r[1].contains("10.1.0.10"));
    assert!(r[2].contains("::1"));
    assert!(ip_list("x", "10.0.0.1/33").is_err());
    assert!(ip_list("x", "::/0").expect("all of v6")[0].contains("2001:db8::1"));
    assert!(ip_list("x", "0.0.0.0/0").expect("all of v4")[0].contains("10.1.2.3"));
    assert!(ip_list("x", "host").is_err());
}

#[test]
fn query_types() {
    assert_eq!(
        query_type("SELECT", "select * from t for update"),
        "SELECT_FOR_UPDATE"
    );
    assert_eq!(
        query_type("INSERT", "insert into a select * from b"),
        "INSERT_SELECT"
    );
    assert_eq!(query_type("DROP TABLE", "drop table t"), "DROP_TABLE");
    assert_eq!(query_type("", "  /* c */ Drop Table t"), "DROP_TABLE");
    assert_eq!(query_type("", "create user 'a'@'%'"), "CREATE_USER");
    assert_eq!(query_type("CREATE ROLE", "create role r"), "OPERATE");
    assert_eq!(query_type("", "truncate t"), "OPERATE");
    assert_eq!(query_type("", "grant select on t to u"), "GRANT");
}
