//! ListAuditSqls' statement text filter (docs/dbss-audit.md → Statements → How the list stays
//! fast): which of a substring's three-character windows to look up in the text index, and the
//! listing of a text lookup's matches from one read of its candidates.
//!
//! When the substring is not common, a text index narrows the rows first: SQLite's FTS5
//! trigram table `dbss_sqls_fts`, PostgreSQL's pg_trgm index `dbss_sqls_trgm`. Only the rarest
//! of the substring's three-character windows is looked up, and a second one when it is rare
//! as well and leaves rows out (`pick_windows`) — the others are in most statements, and
//! intersecting their long lists is what made a full-phrase lookup slow — judged on a sample of
//! the window's newest statements. The answer never depends on the choice: the whole
//! substring is checked on every row either way.

use super::listing::Sql;
use super::sqls::{row_from, SqlFilter, SqlRow, COLS};
use crate::{Backend, Result, Store};
use sqlx::Row;

/// Statements of the window sampled to judge how common a substring and its windows are.
const SAMPLE_ROWS: i64 = 512;
/// Characters of each sampled statement looked at.
const SAMPLE_CHARS: i64 = 1024;
/// Three-character windows of a substring judged at most (spread over it).
const MAX_WINDOWS: usize = 24;
/// A second window is looked up only when at most one sampled statement in this many holds it.
const SECOND_WINDOW_SHARE: usize = 32;

/// Whether pg_trgm finds a trigram in `%w%` for a three-character window: three letters or
/// digits, or two at either end beside a separator (a word's start or end).
pub(super) fn trigram_usable(w: &[char]) -> bool {
    let a = |c: char| c.is_ascii_alphanumeric();
    matches!(
        (a(w[0]), a(w[1]), a(w[2])),
        (true, true, true) | (false, true, true) | (true, true, false)
    )
}

/// `%`, `_` and `\` taken literally in a LIKE pattern (with `ESCAPE '\'`).
pub(super) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The windows to look up, from `(which sampled statements hold it, window)` in the
/// substring's order: the rarest, and a second one only when it is rare too and, in the sample,
/// leaves out at least half of the statements holding the first (or the first is in none of
/// them). Among such windows the one the fewest first-window statements hold is taken, then the
/// rarer. A second window that comes with the first removes no row and costs its whole list:
/// at 10 million rows ` t7` is in 1 statement of 9 (1.1 million entries) and in every statement
/// holding `t7 `, and the newest 512 statements held it only 11 times — rare by count, useless
/// to intersect (+9 ms a lookup on SQLite, +70 ms on PostgreSQL). None when even the rarest is in more than a quarter of the
/// sample.
fn pick_windows(scored: Vec<(Vec<bool>, String)>) -> Vec<String> {
    let n = scored.first().map_or(0, |s| s.0.len());
    let count = |h: &[bool]| h.iter().filter(|x| **x).count();
    let mut scored: Vec<(usize, usize, Vec<bool>, String)> = scored
        .into_iter()
        .enumerate()
        .map(|(i, (h, w))| (count(&h), i, h, w))
        .collect();
    scored.sort();
    let Some((c1, _, first, w1)) = scored.first().cloned() else {
        return Vec::new();
    };
    if c1 * 4 > n {
        return Vec::new();
    }
    let second = scored
        .iter()
        .skip(1)
        .filter(|s| s.0 * SECOND_WINDOW_SHARE <= n)
        .map(|s| {
            let both = s.2.iter().zip(&first).filter(|(a, b)| **a && **b).count();
            (both, s.0, s.1, &s.3)
        })
        .min()
        .filter(|(both, ..)| c1 == 0 || both * 2 <= c1);
    let mut out = vec![w1];
    out.extend(second.map(|s| s.3.clone()));
    out
}

/// The text index lookups that narrow a listing (none: read the rows the other filters give).
pub(super) struct TextLookup<'a> {
    pub(super) needle: &'a str,
    pub(super) windows: Vec<String>,
}

impl Store {
    /// A text lookup's answer from one read of its candidates, in one statement: the keys
    /// `(start_time, seq, id)` of every match are collected once (`MATERIALIZED`), counted for
    /// `total`, and the page's keys cut from them by the database's top-N sort; only those few
    /// keys come back, and the page's rows are then read by id. (Before, every match's key came
    /// to the store to be counted and sorted, and a lookup of over 50,000 matches read them
    /// again twice; with 10,000 matches at 10 million statements this is ~5 ms less.) `None`
    /// (nothing answered) for a negative offset or limit.
    pub(super) async fn list_by_keys(
        &self,
        f: &SqlFilter,
        attrs: &[(&'static str, Vec<String>)],
        text: &TextLookup<'_>,
    ) -> Result<Option<(Vec<SqlRow>, i64)>> {
        if f.offset < 0 || f.limit < 0 {
            return Ok(None);
        }
        let mut tx = self.begin_read().await?;
        let (from, mut sql) = self.rows_of(f, attrs, Some(text), f.from, f.to);
        let conds = sql.conds.join(" AND ");
        let (limit, offset) = (sql.int(f.limit), sql.int(f.offset));
        let order = if f.ascending { "ASC" } else { "DESC" };
        let by = |t: &str| format!("{t}.start_time {order}, {t}.seq {order}, {t}.id {order}");
        // One row with NULL keys when the page is empty (past `total`, or no match).
        let stmt = format!(
            "WITH m AS MATERIALIZED (SELECT s.start_time, s.seq, s.id {from} WHERE {conds}) \
             SELECT k.start_time, k.seq, k.id, t.n FROM (SELECT COUNT(*) AS n FROM m) AS t \
             LEFT JOIN (SELECT m.start_time, m.seq, m.id FROM m ORDER BY {} LIMIT {limit} \
             OFFSET {offset}) AS k ON 1 = 1 ORDER BY {}",
            by("m"),
            by("k")
        );
        let found = sql.query(&stmt).fetch_all(&mut *tx).await?;
        let total: i64 = match found.first() {
            Some(r) => r.try_get(3)?,
            None => 0,
        };
        let mut page: Vec<(i64, i64, String)> = Vec::with_capacity(found.len());
        for r in &found {
            if let (Some(t), Some(s), Some(id)) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?) {
                page.push((t, s, id));
            }
        }
        drop(found);
        let (Some(lo), Some(hi)) = (
            page.iter().map(|k| k.0).min(),
            page.iter().map(|k| k.0).max(),
        ) else {
            tx.commit().await?;
            return Ok(Some((Vec::new(), total)));
        };
        let mut sql = Sql::default();
        let i = sql.text(&f.instance_id);
        let (l, h) = (sql.int(lo), sql.int(hi));
        let ids: Vec<String> = page.iter().map(|k| sql.text(&k.2)).collect();
        let stmt = format!(
            "SELECT {COLS} FROM dbss_sqls WHERE instance_id = {i} AND start_time >= {l} \
             AND start_time <= {h} AND id IN ({})",
            ids.join(", ")
        );
        let mut rows = sql
            .query(&stmt)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(row_from)
            .collect::<Result<Vec<SqlRow>>>()?;
        tx.commit().await?;
        // In the page's order (ids are unique; a row deleted meanwhile is not in this snapshot's
        // keys either).
        let rank = |r: &SqlRow| page.iter().position(|k| k.2 == r.id).unwrap_or(usize::MAX);
        rows.sort_by_key(rank);
        Ok(Some((rows, total)))
    }

    /// The (at most two) rarest three-character windows of `needle` to look up in the text
    /// index, judged on the newest statements of the window; none when the substring is
    /// shorter than three characters, common in the sample (the page is then found by reading
    /// rows in time order), or when no window is rare.
    pub(super) async fn rare_windows(&self, f: &SqlFilter, needle: &str) -> Result<Vec<String>> {
        let chars: Vec<char> = needle.chars().collect();
        if chars.len() < 3 {
            return Ok(Vec::new());
        }
        let pg = self.backend() == Backend::Postgres;
        let mut windows: Vec<String> = Vec::new();
        for w in chars.windows(3) {
            let s: String = w.iter().collect();
            if (!pg || trigram_usable(w)) && !windows.contains(&s) {
                windows.push(s);
            }
        }
        if windows.len() > MAX_WINDOWS {
            let n = windows.len();
            windows = (0..MAX_WINDOWS)
                .map(|k| windows[k * (n - 1) / (MAX_WINDOWS - 1)].clone())
                .collect();
            windows.dedup();
        }
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "SELECT substr(sql_lower, 1, {SAMPLE_CHARS}) FROM dbss_sqls WHERE instance_id = $1 \
             AND start_time >= $2 AND start_time <= $3 ORDER BY start_time DESC LIMIT {SAMPLE_ROWS}"
        ))
        .persistent(false)
        .bind(&f.instance_id)
        .bind(f.from)
        .bind(f.to)
        .fetch_all(self.pool())
        .await?;
        let sample: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<_, _>>()?;
        let n = sample.len();
        // An empty window costs nothing to read; a common substring is found on the first rows.
        if n == 0 || sample.iter().filter(|t| t.contains(needle)).count() * 8 > n {
            return Ok(Vec::new());
        }
        let scored: Vec<(Vec<bool>, String)> = windows
            .into_iter()
            .map(|w| (sample.iter().map(|t| t.contains(w.as_str())).collect(), w))
            .collect();
        Ok(pick_windows(scored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_trgm_windows_need_two_letters_or_digits_together() {
        let ok = |s: &str| trigram_usable(&s.chars().collect::<Vec<_>>());
        assert!(ok("t7a") && ok(" t7") && ok("t7 ") && ok("=12"));
        assert!(!ok("7 w") && !ok(" = ") && !ok("a b") && !ok("é  "));
    }

    #[test]
    fn a_second_window_only_when_it_is_rare_and_leaves_rows_out() {
        // 512 sampled statements; each window held by the statements of the given indices.
        let w = |v: &[(&[usize], &str)]| -> Vec<(Vec<bool>, String)> {
            v.iter()
                .map(|(held, s)| ((0..512).map(|i| held.contains(&i)).collect(), s.to_string()))
                .collect()
        };
        let range = |a: usize, b: usize| (a..b).collect::<Vec<_>>();
        let (many, some, few) = (range(0, 400), range(0, 56), range(100, 116));
        // ` t7` in 56 sampled statements: only `t7 ` is looked up.
        let common = w(&[
            (&many, "fro"),
            (&some, " t7"),
            (&[7], "t7 "),
            (&many, " wh"),
        ]);
        assert_eq!(pick_windows(common), ["t7 "]);
        // ` t7` rare by count but in every statement holding `t7 `: it removes nothing.
        let eleven = [7, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79];
        let together = w(&[(&eleven, " t7"), (&[7], "t7 ")]);
        assert_eq!(pick_windows(together), ["t7 "]);
        // Both rare and apart: both, the rarest first; ties in the substring's order.
        let rare = w(&[
            (&many, "id "),
            (&[1, 2, 3], "424"),
            (&[4, 5, 6], "242"),
            (&few, "42 "),
        ]);
        assert_eq!(pick_windows(rare), ["424", "242"]);
        let apart = w(&[(&few, "abc"), (&range(200, 216), "bcd")]);
        assert_eq!(pick_windows(apart), ["abc", "bcd"]);
        // Too common for a second lookup (17 of 512 > 1 in 32).
        let seventeen = range(200, 217);
        assert_eq!(
            pick_windows(w(&[(&few, "abc"), (&seventeen, "bcd")])),
            ["abc"]
        );
        // The first in no sampled statement: a rare second is taken.
        assert_eq!(
            pick_windows(w(&[(&[], "xyz"), (&[3], "yzw")])),
            ["xyz", "yzw"]
        );
        // The second leaving out the most first-window statements wins over the rarer.
        let pick = w(&[(&[1, 2], "aaa"), (&[1, 9], "bbb"), (&[5, 6, 7], "ccc")]);
        assert_eq!(pick_windows(pick), ["aaa", "ccc"]);
        // Common everywhere: no lookup.
        let (a, b) = (range(0, 129), range(0, 200));
        assert!(pick_windows(w(&[(&a, "sel"), (&b, "ele")])).is_empty());
        assert!(pick_windows(Vec::new()).is_empty());
    }

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_escape(r"50%_\x"), r"50\%\_\\x");
    }
}
