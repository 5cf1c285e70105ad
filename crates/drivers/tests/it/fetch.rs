//! Package downloads against a small HTTP server on loopback: streaming and hashing, the
//! policy at submit time and on every redirect, the size cap with and without a length, and
//! which failures are transient.

#![allow(clippy::unwrap_used)]

use plugboard_core::config::NetworkConfig;
use plugboard_drivers::fetch::{check_package_url, download, FetchError};
use plugboard_drivers::netpolicy::NetworkPolicy;
use sha2::Digest;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers `GET /<path>` with canned responses; returns the base URL.
async fn serve(body: Arc<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let head = |status: &str, extra: &str, len: usize| {
                    format!("HTTP/1.1 {status}\r\nConnection: close\r\n{extra}Content-Length: {len}\r\n\r\n")
                };
                let reply: Vec<u8> = if path == "/pkg" {
                    [head("200 OK", "", body.len()).into_bytes(), body.to_vec()].concat()
                } else if path == "/chunked" {
                    // no length: the cap must hold while streaming
                    let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                    for chunk in body.chunks(1000) {
                        r.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
                        r.extend(chunk);
                        r.extend(b"\r\n");
                    }
                    r.extend(b"0\r\n\r\n");
                    r
                } else if let Some(to) = path.strip_prefix("/redirect?to=") {
                    head("302 Found", &format!("Location: {to}\r\n"), 0).into_bytes()
                } else if path == "/503" {
                    head("503 Service Unavailable", "", 0).into_bytes()
                } else {
                    head("404 Not Found", "", 0).into_bytes()
                };
                sock.write_all(&reply).await.ok();
                sock.shutdown().await.ok();
            });
        }
    });
    format!("http://{addr}")
}

fn policy(allow: &[String], allow_private: bool) -> NetworkPolicy {
    NetworkPolicy::from_config(&NetworkConfig {
        allow: allow.to_vec(),
        allow_private,
        ..NetworkConfig::default()
    })
    .unwrap()
}

async fn get(
    p: &NetworkPolicy,
    url: &str,
    max: u64,
) -> (
    Result<plugboard_drivers::fetch::Downloaded, FetchError>,
    Vec<u64>,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = vec![];
    let mut progress = |done: u64, _total: Option<u64>| seen.push(done);
    let result = download(p, url, &dir.path().join("p"), max, &mut progress).await;
    if let Ok(d) = &result {
        let bytes = std::fs::read(dir.path().join("p")).unwrap();
        assert_eq!(bytes.len() as u64, d.bytes);
        assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), d.sha256);
    }
    (result, seen)
}

#[tokio::test]
async fn downloads_stream_and_hash() {
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let base = serve(Arc::new(body.clone())).await;
    let p = policy(&[format!("{base}/")], true);
    let (ok, seen) = get(&p, &format!("{base}/pkg"), 1 << 20).await;
    let d = ok.unwrap();
    assert_eq!(
        (d.bytes, d.sha256.clone()),
        (300_000, hex::encode(sha2::Sha256::digest(&body)))
    );
    assert!(
        seen.len() > 1 && seen.last() == Some(&300_000),
        "progress as bytes arrive"
    );
    let (ok, _) = get(&p, &format!("{base}/chunked"), 1 << 20).await;
    assert_eq!(ok.unwrap().bytes, 300_000);
}

#[tokio::test]
async fn the_policy_holds_at_submit_and_on_every_redirect() {
    let base = serve(Arc::new(b"x".to_vec())).await;
    let strict = policy(&[], false);
    let err = check_package_url(&strict, &format!("{base}/pkg"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("allow_private"), "{err}");
    let (err, _) = get(&strict, &format!("{base}/pkg"), 100).await;
    assert!(matches!(err, Err(FetchError::NotAllowed(_))), "{err:?}");
    // localhost by name: the resolver's answer is checked too
    let port = base.rsplit(':').next().unwrap();
    let err = check_package_url(&strict, &format!("http://localhost:{port}/pkg"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("allow_private"), "{err}");
    let (err, _) = get(
        &policy(&[], false),
        &format!("http://localhost:{port}/pkg"),
        100,
    )
    .await;
    assert!(matches!(err, Err(FetchError::NotAllowed(_))), "{err:?}");

    let p = policy(&[format!("{base}/")], true);
    assert!(check_package_url(&p, &format!("{base}/pkg")).await.is_ok());
    assert!(
        check_package_url(&p, "http://127.0.0.2:9/pkg")
            .await
            .is_err(),
        "not on the allow list"
    );
    for target in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.2:9/x",
        "file:///etc/passwd",
    ] {
        let (err, _) = get(&p, &format!("{base}/redirect?to={target}"), 100).await;
        match err {
            Err(FetchError::RedirectRefused { to, .. }) => {
                assert!(to.starts_with(target.split("/x").next().unwrap()))
            }
            other => panic!("redirect to {target}: {other:?}"),
        }
    }
    let (ok, _) = get(&p, &format!("{base}/redirect?to={base}/pkg"), 100).await;
    assert_eq!(ok.unwrap().bytes, 1, "an allowed redirect is followed");
}

#[tokio::test]
async fn size_cap_and_transient_failures() {
    let base = serve(Arc::new(vec![7u8; 10_000])).await;
    let p = policy(&[], true);
    for path in ["/pkg", "/chunked"] {
        let (err, _) = get(&p, &format!("{base}{path}"), 5_000).await;
        match err {
            Err(e @ FetchError::TooLarge { limit: 5_000 }) => assert!(!e.is_transient()),
            other => panic!("{path}: {other:?}"),
        }
    }
    let (err, _) = get(&p, &format!("{base}/missing"), 100).await;
    let err = err.unwrap_err();
    assert!(
        !err.is_transient() && err.to_string().contains("HTTP 404"),
        "{err}"
    );
    let (err, _) = get(&p, &format!("{base}/503"), 100).await;
    assert!(err.unwrap_err().is_transient());
    // nothing listens on port 9 of loopback: connection refused is transient
    let (err, _) = get(&p, "http://127.0.0.1:9/pkg", 100).await;
    let err = err.unwrap_err();
    assert!(err.is_transient(), "{err}");
}

/// A package server that sends a head promising 100,000 bytes, then one byte every `every`.
async fn trickle(every: std::time::Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                loop {
                    tokio::time::sleep(every).await;
                    if sock.write_all(b"x").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn limited(timeout: u64, min_rate: u64, window: u64) -> NetworkPolicy {
    NetworkPolicy::from_config(&NetworkConfig {
        allow_private: true,
        download_timeout_seconds: timeout,
        download_min_bytes_per_second: min_rate,
        download_rate_window_seconds: window,
        ..NetworkConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn a_trickling_download_fails_below_the_minimum_rate_and_leaves_no_file() {
    let base = trickle(std::time::Duration::from_millis(200)).await;
    let p = limited(60, 100, 1);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("p");
    let started = std::time::Instant::now();
    let mut progress = |_: u64, _: Option<u64>| {};
    let err = download(&p, &format!("{base}/pkg"), &dest, 1 << 20, &mut progress)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, FetchError::TooSlow { .. }) && !err.is_transient(),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("in the last 1 s, below the minimum of 100 bytes/s")
            && text.contains("download_min_bytes_per_second"),
        "{text}"
    );
    assert!(
        took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(3),
        "{took:?}"
    );
    assert!(!dest.exists(), "the partial package is removed");
}

#[tokio::test]
async fn a_download_past_its_deadline_fails_even_when_bytes_keep_coming() {
    // Fast enough for any minimum rate check (off here), but never done.
    let base = trickle(std::time::Duration::from_millis(20)).await;
    let p = limited(1, 0, 1);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("p");
    let started = std::time::Instant::now();
    let mut progress = |_: u64, _: Option<u64>| {};
    let err = download(&p, &format!("{base}/pkg"), &dest, 1 << 20, &mut progress)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooSlow { .. }) && !err.is_transient(),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("not finished within 1 s ([network] download_timeout_seconds)"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert!(!dest.exists(), "the partial package is removed");
}

#[tokio::test]
async fn downloads_at_a_good_rate_are_not_cut_off() {
    let body: Vec<u8> = vec![1u8; 50_000];
    let base = serve(Arc::new(body)).await;
    let p = limited(5, 1_000_000, 1);
    let (ok, _) = get(&p, &format!("{base}/pkg"), 1 << 20).await;
    assert_eq!(ok.unwrap().bytes, 50_000);
}
