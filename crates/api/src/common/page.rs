//! The one pager: `offset`/`limit` query parameters as text, checked against a family's bounds.
//! The message names the parameter; each family wraps it in its own error.

/// `(offset, limit)`: `offset` ≥ 0 (default 0), `limit` from 1 to `max` (default `default`);
/// empty counts as absent.
pub fn parse(
    offset: Option<&str>,
    limit: Option<&str>,
    max: i64,
    default: i64,
) -> Result<(i64, i64), String> {
    let offset = match offset {
        None | Some("") => 0,
        Some(o) => o
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| format!("offset must be an integer ≥ 0 (got `{o}`)"))?,
    };
    let limit = match limit {
        None | Some("") => default,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| format!("limit must be an integer from 1 to {max} (got `{l}`)"))?,
    };
    Ok((offset, limit))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn bounds_and_defaults() {
        assert_eq!(parse(None, Some(""), 100, 10), Ok((0, 10)));
        assert_eq!(parse(Some("5"), Some("100"), 100, 10), Ok((5, 100)));
        assert!(parse(Some("-1"), None, 100, 10)
            .unwrap_err()
            .starts_with("offset"));
        assert!(parse(None, Some("101"), 100, 10)
            .unwrap_err()
            .starts_with("limit"));
    }
}
