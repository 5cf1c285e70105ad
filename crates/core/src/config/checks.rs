//! The checks of single configuration values (listen address, database URL, public URL, the
//! TLS pair) and the making of paths absolute, used when the configuration is resolved.

use super::{ConfigError, HttpConfig};
use std::path::{Path, PathBuf};

/// `host:port` where host is an IP address (IPv6 in brackets) or a host name, and port a
/// number from 0 to 65535 (0: any free port).
pub(super) fn check_listen(listen: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| {
        ConfigError::Invalid(format!(
            "listen address `{listen}` is not valid: {why}; write host:port, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::]:8080"
        ))
    };
    if listen.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let Some((host, port)) = listen.rsplit_once(':') else {
        return Err(bad("it has no port"));
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err()
    {
        return Err(bad(&format!("`{port}` is not a port number (0 to 65535)")));
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        if inner.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad(&format!("`{inner}` is not an IPv6 address")));
        }
        return Ok(());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(bad(&format!(
            "`{host}` is not an IP address or a host name"
        )));
    }
    Ok(())
}

/// A `postgres://` URL must name a host (or a socket directory with `?host=`) and a valid
/// port; `sqlite:` URLs are checked when the file is opened.
/// `path` made absolute against the working directory (symbolic links are left as they are).
pub(super) fn absolute(path: &Path) -> Result<PathBuf, ConfigError> {
    std::path::absolute(path).map_err(|e| {
        ConfigError::Invalid(format!(
            "cannot make the path {} absolute: {e}",
            path.display()
        ))
    })
}

/// A SQLite URL naming a relative file (`sqlite://data/pb.db`, `sqlite:data/pb.db`) made to
/// name it absolutely, query kept; any other URL (PostgreSQL, `sqlite::memory:`) as given.
pub(super) fn absolute_sqlite_url(url: String) -> Result<String, ConfigError> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(url);
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (file, query) = match rest.split_once('?') {
        Some((file, query)) => (file, Some(query)),
        None => (rest, None),
    };
    if file.is_empty() || file.starts_with('/') || file.starts_with(':') {
        return Ok(url);
    }
    let file = absolute(Path::new(file))?;
    Ok(match query {
        Some(q) => format!("sqlite://{}?{q}", file.display()),
        None => format!("sqlite://{}", file.display()),
    })
}

pub(super) fn check_database_url(database_url: &str) -> Result<(), ConfigError> {
    if database_url.starts_with("sqlite:") {
        return Ok(());
    }
    let bad = |why: String| ConfigError::Invalid(format!("database URL is not valid: {why}"));
    let url = url::Url::parse(database_url).map_err(|e| bad(format!("{e}")))?;
    let socket_dir = url.query_pairs().any(|(k, _)| k == "host");
    if url.host_str().is_none_or(str::is_empty) && !socket_dir {
        return Err(bad(
            "it names no host (postgres://user@host:port/database)".into()
        ));
    }
    Ok(())
}

/// The public URL clients are told to use: http(s) with a host, no query or fragment.
pub(super) fn check_public_url(public_url: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| {
        ConfigError::Invalid(format!(
            "public URL `{public_url}` is not valid: {why}; write e.g. https://plugboard.example.com"
        ))
    };
    let url = url::Url::parse(public_url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("it must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or a fragment"));
    }
    Ok(())
}

/// `[http] tls_certificate_file` and `tls_key_file`: both or neither, made absolute.
pub(super) fn check_tls_files(http: &mut HttpConfig) -> Result<(), ConfigError> {
    match (&http.tls_certificate_file, &http.tls_key_file) {
        (Some(cert), Some(key)) => {
            http.tls_certificate_file = Some(absolute(cert)?);
            http.tls_key_file = Some(absolute(key)?);
            Ok(())
        }
        (None, None) => Ok(()),
        _ => Err(ConfigError::Invalid(
            "[http] tls_certificate_file and tls_key_file go together: set both to serve HTTPS, or neither".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Overrides};

    #[test]
    fn listen_addresses() {
        for ok in [
            "127.0.0.1:8080",
            "0.0.0.0:0",
            "[::]:8080",
            "[::1]:9000",
            "localhost:8080",
            "plugboard-1.internal:80",
        ] {
            assert!(check_listen(ok).is_ok(), "{ok}");
        }
        for bad in [
            "nonsense",
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "127.0.0.1:80a",
            ":8080",
            "[::1:8080",
            "[zz]:80",
            "bad host:80",
            "-x:80",
        ] {
            let err = check_listen(bad).expect_err(bad).to_string();
            assert!(err.contains(bad) && err.contains("host:port"), "{err}");
        }
    }

    #[test]
    fn database_and_public_urls() {
        assert!(check_database_url("sqlite://x/plugboard.db").is_ok());
        assert!(check_database_url("postgres://u@db:5432/p").is_ok());
        assert!(check_database_url("postgres:///p?host=/var/run/postgresql").is_ok());
        assert!(check_database_url("postgres://u@db:99999/p").is_err());
        assert!(check_database_url("postgres:///p").is_err());
        assert!(check_public_url("https://plugboard.example.com").is_ok());
        assert!(check_public_url("http://127.0.0.1:8080/base").is_ok());
        for bad in [
            "plugboard.example.com",
            "ftp://x",
            "http://x/?a=1",
            "http://",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_sqlite_urls_are_made_absolute() {
        let cwd = std::env::current_dir().expect("cwd");
        for (given, expected) in [
            (
                "sqlite://rel/pb.db?mode=rwc",
                format!("sqlite://{}?mode=rwc", cwd.join("rel/pb.db").display()),
            ),
            (
                "sqlite:rel.db",
                format!("sqlite://{}", cwd.join("rel.db").display()),
            ),
            ("sqlite:///abs/pb.db", "sqlite:///abs/pb.db".to_string()),
            ("sqlite::memory:", "sqlite::memory:".to_string()),
            ("postgres://u@db/p", "postgres://u@db/p".to_string()),
        ] {
            assert_eq!(absolute_sqlite_url(given.into()).expect(given), expected);
        }
    }

    #[test]
    fn tls_files_go_together_and_are_made_absolute() {
        let dir = std::env::temp_dir().join(format!("pb-tls-{}", crate::ids::hex32()));
        std::fs::create_dir_all(&dir).expect("dir");
        let resolve = |toml: &str| {
            std::fs::write(dir.join("plugboard.toml"), toml).expect("write");
            Config::resolve(Overrides {
                data_dir: Some(dir.clone()),
                ..Default::default()
            })
        };
        let cfg = resolve("").expect("no TLS");
        assert!(cfg.http.tls().is_none());
        let cfg = resolve(
            "[http]\ntls_certificate_file = \"tls/a.crt\"\ntls_key_file = \"/etc/a.key\"\n",
        )
        .expect("both");
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            cfg.http.tls(),
            Some((cwd.join("tls/a.crt").as_path(), Path::new("/etc/a.key")))
        );
        for one in [
            "tls_certificate_file = \"a.crt\"",
            "tls_key_file = \"a.key\"",
        ] {
            let err = resolve(&format!("[http]\n{one}\n"))
                .expect_err(one)
                .to_string();
            assert!(err.contains("go together"), "{err}");
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
