//! ListAuditSqls' statement text filter (docs/dbss-audit.md → Statements → How the list stays
//! fast): which of a substring's three-character windows to look up in the text index, and the
//! listing of a text lookup's matches from one read of its candidates.
//!
//! When the substring is not common, a text index narrows the rows first: SQLite's FTS5
//! trigram table `dbss_sqls_fts`, PostgreSQL's pg_trgm index `dbss_sqls_trgm`. Only the two
//! rarest of the substring's three-character windows are looked up (the second only when it is
//! rare as well) — the others are in most statements, and intersecting their long lists is what
//! made a full-phrase lookup slow — judged on a sample of the window's newest statements. The
//! answer never depends on the choice: the whole substring is checked on every row either way.

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
/// Matches of a text lookup counted and paged from their keys in memory (more: two reads).
const KEYS_MAX: i64 = 50_000;

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

/// The windows to look up, from `(sampled statements holding it, window)` in the substring's
/// order over `n` sampled statements: the rarest, and the second rarest when it is rare too —
/// intersecting with a common one reads its long list (1 in 9 statements holds ` t7` at 10
/// million rows: 1.1 million entries) to remove few rows, as the windows of one substring mostly
/// come together. None when even the rarest is in more than a quarter of the sample.
fn pick_windows(scored: Vec<(usize, String)>, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, usize, String)> = scored
        .into_iter()
        .enumerate()
        .map(|(i, (count, w))| (count, i, w))
        .collect();
    scored.sort();
    if scored.first().is_none_or(|s| s.0 * 4 > n) {
        return Vec::new();
    }
    let second_rare = scored
        .get(1)
        .is_some_and(|s| s.0 * SECOND_WINDOW_SHARE <= n);
    let take = if second_rare { 2 } else { 1 };
    scored.into_iter().take(take).map(|(_, _, w)| w).collect()
}

/// The text index lookups that narrow a listing (none: read the rows the other filters give).
pub(super) struct TextLookup<'a> {
    pub(super) needle: &'a str,
    pub(super) windows: Vec<String>,
}

impl Store {
    /// A text lookup's answer from one read of its candidates: the keys `(start_time, seq,
    /// id)` of every match, sorted here; `total` is their number; the page's rows are then read
    /// by id. `None` (nothing answered) when the page lies past [`KEYS_MAX`] matches or the
    /// lookup finds more than that.
    pub(super) async fn list_by_keys(
        &self,
        f: &SqlFilter,
        attrs: &[(&'static str, Vec<String>)],
        text: &TextLookup<'_>,
    ) -> Result<Option<(Vec<SqlRow>, i64)>> {
        if f.offset.saturating_add(f.limit) > KEYS_MAX || f.offset < 0 || f.limit < 0 {
            return Ok(None);
        }
        let mut tx = self.begin_read().await?;
        let (from, mut sql) = self.rows_of(f, attrs, Some(text), f.from, f.to);
        let conds = sql.conds.join(" AND ");
        let cap = sql.int(KEYS_MAX + 1);
        let stmt = format!("SELECT s.start_time, s.seq, s.id {from} WHERE {conds} LIMIT {cap}");
        let found = sql.query(&stmt).fetch_all(&mut *tx).await?;
        if found.len() as i64 > KEYS_MAX {
            tx.commit().await?;
            return Ok(None);
        }
        let mut keys = found
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<Vec<(i64, i64, String)>>>()?;
        drop(found);
        let total = keys.len() as i64;
        keys.sort_unstable();
        if !f.ascending {
            keys.reverse();
        }
        let page: Vec<(i64, i64, String)> = keys
            .into_iter()
            .skip(f.offset as usize)
            .take(f.limit as usize)
            .collect();
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
        let scored: Vec<(usize, String)> = windows
            .into_iter()
            .map(|w| (sample.iter().filter(|t| t.contains(w.as_str())).count(), w))
            .collect();
        Ok(pick_windows(scored, n))
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
    fn a_second_window_only_when_it_is_rare_too() {
        let w = |v: &[(usize, &str)]| -> Vec<(usize, String)> {
            v.iter().map(|(c, s)| (*c, s.to_string())).collect()
        };
        // ` t7` in 56 of 512 sampled statements: only `t7 ` is looked up.
        let common = w(&[(400, "fro"), (56, " t7"), (1, "t7 "), (300, " wh")]);
        assert_eq!(pick_windows(common, 512), ["t7 "]);
        // Both rare: both, the rarest first; ties in the substring's order.
        let rare = w(&[(500, "id "), (3, "424"), (3, "242"), (16, "42 ")]);
        assert_eq!(pick_windows(rare, 512), ["424", "242"]);
        assert_eq!(
            pick_windows(w(&[(16, "abc"), (16, "bcd")]), 512),
            ["abc", "bcd"]
        );
        assert_eq!(pick_windows(w(&[(16, "abc"), (17, "bcd")]), 512), ["abc"]);
        // Common everywhere: no lookup.
        assert!(pick_windows(w(&[(129, "sel"), (200, "ele")]), 512).is_empty());
        assert!(pick_windows(Vec::new(), 512).is_empty());
    }

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_escape(r"50%_\x"), r"50\%\_\\x");
    }
}
