//! The vendor time formats (as the official SDKs send and parse them) and the store's time unit
//! (microseconds since the Unix epoch, UTC).

use chrono::{DateTime, TimeZone, Utc};

/// Microseconds since the Unix epoch: how every time is stored.
pub type Micros = i64;

/// Now, as store micros.
pub fn now_micros() -> Micros {
    Utc::now().timestamp_micros()
}

/// Store micros to a UTC date-time (out-of-range values clamp to the epoch).
pub fn to_datetime(micros: Micros) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or_default()
}

/// IAM token times: `2026-11-22T05:18:00.123000Z`.
pub fn iam(micros: Micros) -> String {
    to_datetime(micros)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// GaussDB job times: `2026-11-22T05:18:00+0000`.
pub fn gaussdb_job(micros: Micros) -> String {
    to_datetime(micros)
        .format("%Y-%m-%dT%H:%M:%S+0000")
        .to_string()
}

/// GaussDB instance times: `2026-11-22 05:18:00 UTC`.
pub fn gaussdb_instance(micros: Micros) -> String {
    to_datetime(micros)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// Epoch milliseconds (ServiceStage).
pub fn millis(micros: Micros) -> i64 {
    micros / 1000
}

/// ZStack's Gson default: `Nov 22, 2026 5:18:00 AM`.
pub fn zstack(micros: Micros) -> String {
    to_datetime(micros)
        .format("%b %-d, %Y %-I:%M:%S %p")
        .to_string()
}

/// A time a ZStack query compares with, as store micros: Gson's `Nov 22, 2026 5:18:00 AM`,
/// `2026-11-22 05:18:00`, RFC 3339, or epoch milliseconds.
pub fn parse_zstack(text: &str) -> Option<Micros> {
    use chrono::NaiveDateTime;
    let t = text.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        return t.parse::<i64>().ok().map(|ms| ms.saturating_mul(1000));
    }
    for format in ["%b %d, %Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, format) {
            return Some(naive.and_utc().timestamp_micros());
        }
    }
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_formats() {
        // 2026-11-22T05:18:00.123Z
        let t = 1_795_324_680_123_000;
        assert_eq!(iam(t), "2026-11-22T05:18:00.123000Z");
        assert_eq!(gaussdb_job(t), "2026-11-22T05:18:00+0000");
        assert_eq!(gaussdb_instance(t), "2026-11-22 05:18:00 UTC");
        assert_eq!(millis(t), 1_795_324_680_123);
        assert_eq!(zstack(t), "Nov 22, 2026 5:18:00 AM");
        let second = t - 123_000;
        assert_eq!(parse_zstack("Nov 22, 2026 5:18:00 AM"), Some(second));
        assert_eq!(parse_zstack("2026-11-22 05:18:00"), Some(second));
        assert_eq!(parse_zstack("2026-11-22T05:18:00Z"), Some(second));
        assert_eq!(parse_zstack("1795324680123"), Some(t));
        assert_eq!(parse_zstack("soon"), None);
    }
}
