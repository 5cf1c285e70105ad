//! The field rules of a database DBSS audits: every field checked before anything is stored,
//! the message naming the field; addresses and ports kept in one spelling so the duplicate
//! rule sees every spelling of one database as the same.

/// A database to audit, as the caller gave it.
#[derive(Debug, Clone)]
pub struct DatabaseFields {
    pub db_classification: String,
    pub name: String,
    pub db_type: String,
    pub version: String,
    pub charset: String,
    pub ip: String,
    pub port: String,
    pub os: String,
    pub instance_name: Option<String>,
}

type Result<T> = std::result::Result<T, super::Error>;

const CLASSIFICATIONS: &[&str] = &["ECS", "RDS"];
/// Database types DBSS audits.
pub const TYPES: &[&str] = &[
    "MYSQL",
    "ORACLE",
    "POSTGRESQL",
    "SQLSERVER",
    "DAMENG",
    "TAURUS",
    "DWS",
    "KINGBASE",
    "GAUSSDBOPENGAUSS",
    "GREENPLUM",
    "HIGHGO",
    "SHENTONG",
    "GBASE8A",
    "GBASE8S",
    "GBASEXDM",
    "MONGODB",
    "DDS",
];
const CHARSETS: &[&str] = &["UTF8", "GBK"];
const OSES: &[&str] = &["LINUX64", "WINDOWS64", "UNIX"];
const MAX_TEXT: usize = 255;

pub(crate) fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(super::Error::Invalid(format!(
            "{field} must be one of {} (got `{value}`)",
            allowed.join(", ")
        )))
    }
}

fn text(field: &str, value: &str, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(super::Error::Invalid(format!("{field} must not be empty")));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(super::Error::Invalid(format!(
            "{field} must be at most {MAX_TEXT} characters"
        )));
    }
    Ok(())
}

/// A port on the wire: a string of digits holding 1–65535, written without leading zeros
/// (`"03306"` is refused rather than stored as a second spelling of `"3306"`, which would
/// slip past the duplicate rule).
pub fn parse_port(value: &str) -> Option<u16> {
    if value.is_empty()
        || value.len() > 5
        || value.starts_with('0')
        || !value.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    value.parse::<u16>().ok().filter(|p| *p > 0)
}

/// An IP address on the wire, in the one spelling plugboard stores and lists: IPv4-mapped
/// IPv6 (`::ffff:127.0.0.1`) becomes the IPv4 address, IPv6 is written as RFC 5952 says
/// (`0:0:0:0:0:0:0:1` → `::1`, lower case, zeros compressed). The duplicate rule compares
/// stored values, so every spelling of one address is the same address to it.
pub fn canonical_ip(value: &str) -> Option<String> {
    value
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_canonical().to_string())
}

/// Check every field; returns the canonical ip to store.
pub(crate) fn validate(d: &DatabaseFields) -> Result<String> {
    one_of(
        "database.db_classification",
        &d.db_classification,
        CLASSIFICATIONS,
    )?;
    text("database.name", &d.name, true)?;
    one_of("database.type", &d.db_type, TYPES)?;
    text("database.version", &d.version, true)?;
    one_of("database.charset", &d.charset, CHARSETS)?;
    let Some(ip) = canonical_ip(&d.ip) else {
        return Err(super::Error::Invalid(format!(
            "database.ip must be an IPv4 or IPv6 address (got `{}`)",
            d.ip
        )));
    };
    if parse_port(&d.port).is_none() {
        return Err(super::Error::Invalid(format!(
            "database.port must be a string holding a port from 1 to 65535, without leading zeros (got `{}`)",
            d.port
        )));
    }
    one_of("database.os", &d.os, OSES)?;
    text(
        "database.instance_name",
        d.instance_name.as_deref().unwrap_or(""),
        false,
    )?;
    Ok(ip)
}

#[cfg(test)]
mod tests {
    use super::{canonical_ip, parse_port};

    #[test]
    fn ips_are_stored_in_one_spelling() {
        for (sent, stored) in [
            ("127.0.0.1", "127.0.0.1"),
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::FFFF:7f00:1", "127.0.0.1"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("::1", "::1"),
            (
                "2001:0DB8:0000:0000:0000:ff00:0042:8329",
                "2001:db8::ff00:42:8329",
            ),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("fe80::1", "fe80::1"),
        ] {
            assert_eq!(canonical_ip(sent).as_deref(), Some(stored), "{sent}");
        }
        for bad in [
            "",
            "localhost",
            "127.0.0.1:3306",
            "[::1]",
            "10.0.0",
            "fe80::1%eth0",
        ] {
            assert_eq!(canonical_ip(bad), None, "{bad}");
        }
    }

    #[test]
    fn ports_have_one_spelling() {
        assert_eq!(parse_port("3306"), Some(3306));
        assert_eq!(parse_port("1"), Some(1));
        assert_eq!(parse_port("65535"), Some(65535));
        for bad in [
            "", "0", "00", "03306", "00001", "65536", "+3306", " 3306", "3306 ", "-1", "3e3",
        ] {
            assert_eq!(parse_port(bad), None, "{bad:?}");
        }
    }
}
