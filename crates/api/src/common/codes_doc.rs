//! The check that `docs/error-codes.md` and the families' tables of codes agree, both ways:
//! every row of a table is documented (same status, code and message), and every documented
//! row is one of a table's. A message's `{}` matches any text in the document (`<what>`).

use plugboard_core::codes::Code;

/// The document's tables, by the heading they are under and a column only they have, and
/// the table of codes each describes.
fn tables() -> Vec<(&'static str, &'static str, &'static [&'static Code])> {
    vec![
        (
            "API gateway",
            "code",
            crate::common::error::gateway::GATEWAY,
        ),
        ("IAM", "title", crate::iam::error::codes::IAM),
        ("GaussDB", "code", crate::gaussdb::error::codes::GAUSSDB),
        ("DBSS", "code", crate::dbss::error::codes::DBSS),
        ("plugboard admin", "code", crate::admin::error::codes::ADMIN),
        (
            "ServiceStage",
            "code",
            crate::servicestage::error::codes::SERVICESTAGE,
        ),
        ("ZStack", "code", plugboard_service::zstack::codes::ZSTACK),
        ("ZStack", "text", crate::zstack::error::texts::ZSTACK_TEXT),
    ]
}

/// One documented row: the cells of the columns it has.
#[derive(Debug, Default)]
struct DocRow {
    line: usize,
    status: Option<u16>,
    code: Option<String>,
    messages: Option<Vec<String>>,
    chinese: Option<Vec<String>>,
}

/// The cells of a table line (`\|` is a `|` inside a cell).
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                if let Some(cell) = out.last_mut() {
                    cell.push('|');
                }
            }
            '|' => out.push(String::new()),
            c => {
                if let Some(cell) = out.last_mut() {
                    cell.push(c);
                }
            }
        }
    }
    out.into_iter().map(|c| c.trim().to_string()).collect()
}

/// The messages of a cell: each `code span`, or the whole cell when it has none.
fn messages(cell: &str) -> Vec<String> {
    let spans: Vec<String> = cell
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect();
    if spans.is_empty() {
        vec![cell.to_string()]
    } else {
        spans
    }
}

/// Whether `text` is `template` with something in its `{}`.
fn fits(template: &str, text: &str) -> bool {
    match template.split_once("{}") {
        Some((before, after)) => {
            text.len() >= before.len() + after.len()
                && text.starts_with(before)
                && text.ends_with(after)
        }
        None => template == text,
    }
}

/// The document's tables: (heading, header cells, rows).
fn doc_tables(doc: &str) -> Vec<(String, Vec<String>, Vec<DocRow>)> {
    let mut out: Vec<(String, Vec<String>, Vec<DocRow>)> = Vec::new();
    let mut heading = String::new();
    let mut header: Option<Vec<String>> = None;
    for (i, line) in doc.lines().enumerate() {
        if let Some(h) = line.strip_prefix("## ") {
            heading = h.to_string();
        }
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let row = cells(line);
        let Some(columns) = header.clone() else {
            header = Some(row.clone());
            out.push((heading.clone(), row, Vec::new()));
            continue;
        };
        if row.iter().all(|c| c.chars().all(|c| c == '-' || c == ':')) {
            continue;
        }
        let mut doc_row = DocRow {
            line: i + 1,
            ..DocRow::default()
        };
        for (column, cell) in columns.iter().zip(&row) {
            match column.as_str() {
                "status" => doc_row.status = cell.parse().ok().or(Some(0)),
                "code" | "title" => doc_row.code = Some(cell.trim_matches('`').to_string()),
                "error_msg" | "message" | "description" | "text" => {
                    doc_row.messages = Some(messages(cell))
                }
                "error_msg (zh-cn)" => doc_row.chinese = Some(messages(cell)),
                _ => {}
            }
        }
        if let Some(table) = out.last_mut() {
            table.2.push(doc_row);
        }
    }
    out
}

/// Whether the documented row describes `code`.
fn describes(row: &DocRow, code: &Code) -> bool {
    let text_row = code.code.is_empty();
    row.status.is_none_or(|s| s == code.status)
        && match &row.code {
            Some(c) => c == code.code,
            None => text_row,
        }
        && row
            .messages
            .as_ref()
            .is_none_or(|m| m.iter().all(|m| fits(code.en, m)))
        && row.chinese.as_ref().is_none_or(|m| match code.zh {
            Some(zh) => m.iter().all(|m| fits(zh, m)),
            None => m.iter().all(|m| m == "—"),
        })
}

/// Every way `doc` and the tables disagree, one line each.
fn disagreements(doc: &str) -> Vec<String> {
    let documented = doc_tables(doc);
    let mut out = Vec::new();
    for (heading, column, table) in tables() {
        let found = documented
            .iter()
            .find(|(h, cols, _)| h.starts_with(heading) && cols.iter().any(|c| c == column));
        let Some((_, _, rows)) = found else {
            out.push(format!(
                "no table under `## {heading}` with a `{column}` column"
            ));
            continue;
        };
        for code in table {
            if !rows.iter().any(|r| describes(r, code)) {
                out.push(format!(
                    "`## {heading}`: {} {:?} {:?} is not documented (status, code and message)",
                    code.status, code.code, code.en
                ));
            }
        }
        for row in rows {
            if !table.iter().any(|code| describes(row, code)) {
                out.push(format!(
                    "docs/error-codes.md line {}: {:?} {:?} {:?} is in no table of `## {heading}`",
                    row.line, row.status, row.code, row.messages
                ));
            }
        }
    }
    out
}

const DOC: &str = include_str!("../../../../docs/error-codes.md");

#[test]
fn the_document_and_the_tables_agree() {
    let wrong = disagreements(DOC);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_changed_status_a_missing_row_and_an_extra_row_are_each_found() {
    let status = DOC.replacen("| 404 | DBS.200002 |", "| 400 | DBS.200002 |", 1);
    assert_ne!(status, DOC);
    let wrong = disagreements(&status);
    assert!(
        wrong.iter().any(|w| w.contains("\"DBS.200002\"")),
        "{wrong:?}"
    );

    let line = DOC
        .lines()
        .find(|l| l.contains("| SVCSTG.00100414 |"))
        .unwrap_or_default();
    let missing = DOC.replacen(&format!("{line}\n"), "", 1);
    assert_ne!(missing, DOC);
    let wrong = disagreements(&missing);
    assert!(
        wrong
            .iter()
            .any(|w| w.contains("SVCSTG.00100414") && w.contains("not documented")),
        "{wrong:?}"
    );

    let extra = DOC.replacen(
        &format!("{line}\n"),
        &format!("{line}\n| 400 | SVCSTG.00100999 | `made up` | never |\n"),
        1,
    );
    let wrong = disagreements(&extra);
    assert!(
        wrong
            .iter()
            .any(|w| w.contains("SVCSTG.00100999") && w.contains("in no table")),
        "{wrong:?}"
    );
}

#[test]
fn a_changed_message_is_found_in_either_language() {
    let english = DOC.replacen(
        "`The DB instance does not exist.`",
        "`No such instance.`",
        1,
    );
    assert_ne!(english, DOC);
    assert!(!disagreements(&english).is_empty());
    let chinese = DOC.replacen("| `实例不存在。` |", "| `没有实例。` |", 1);
    assert_ne!(chinese, DOC);
    assert!(!disagreements(&chinese).is_empty());
    let prefix = DOC.replacen("`parameter invalid: <what>`", "`invalid: <what>`", 1);
    assert_ne!(prefix, DOC);
    assert!(!disagreements(&prefix).is_empty());
}
