//! Careless and hostile clients against the real binary: clients that hang up (RST) while
//! their writes run, `/readyz` when the store cannot take writes.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use plugboard_store::Backend;
use rand::Rng;
use serde_json::json;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Send `POST path` and reset the connection (SO_LINGER 0: the close sends RST) `after`
/// later, without reading the answer.
fn post_and_hang_up(addr: SocketAddr, token: &str, path: &str, body: &str, after: Duration) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return;
    };
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        std::thread::sleep(after);
    }
}

async fn create_group(s: &Server, token: &str, name: &str) -> u16 {
    let r = s
        .client
        .post(s.url("/v3/groups"))
        .header("x-auth-token", token)
        .json(&json!({"group": {"name": name}}))
        .timeout(Duration::from_secs(15))
        .send()
        .await;
    match r {
        Ok(r) => r.status().as_u16(),
        Err(e) => panic!("POST /v3/groups {name}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_survive_clients_that_hang_up_mid_request() {
    let s = Server::start(None).await;
    let token = s.admin_token().await;
    let addr: SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();

    let pid = s.b("project_id");
    let inst = s
        .create_dbss_instance(&token, json!({"name": "rst", "edition": "basic"}))
        .await;
    let add_database = format!("/v1/{pid}/{inst}/audit/databases");

    // 48 threads × 40 POSTs, each connection reset 0–3 ms after its request was sent: a
    // quarter create IAM groups (one INSERT), the rest add DBSS databases (a write
    // transaction).
    let storm_done = Arc::new(AtomicBool::new(false));
    let storm: Vec<_> = (0..48)
        .map(|t| {
            let token = token.clone();
            let add_database = add_database.clone();
            std::thread::spawn(move || {
                let mut rng = rand::thread_rng();
                for i in 0..40 {
                    let after = Duration::from_micros(rng.gen_range(0..3000));
                    let name = format!("rst-{t}-{i}");
                    let (path, body) = if t % 4 == 0 {
                        ("/v3/groups", json!({"group": {"name": name}}))
                    } else {
                        (
                            add_database.as_str(),
                            json!({"database": {"db_classification": "ECS", "name": name,
                                "type": "MYSQL", "version": "8.0", "charset": "UTF8",
                                "ip": "127.0.0.1", "port": "3306", "os": "LINUX64",
                                "instance_name": "local"}}),
                        )
                    };
                    post_and_hang_up(addr, &token, path, &body.to_string(), after);
                }
            })
        })
        .collect();
    // Meanwhile an innocent client keeps writing; none of its writes may fail.
    let mut innocent = Vec::new();
    let waiter = {
        let done = storm_done.clone();
        tokio::task::spawn_blocking(move || {
            for t in storm {
                t.join().unwrap();
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut n = 0;
    while !storm_done.load(Ordering::SeqCst) {
        innocent.push(create_group(&s, &token, &format!("innocent-{n}")).await);
        n += 1;
    }
    waiter.await.unwrap();
    let failed: Vec<_> = innocent.iter().filter(|st| **st != 201).collect();
    eprintln!(
        "1,920 hang-ups; {} of {} innocent writes failed",
        failed.len(),
        innocent.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} innocent writes during the hang-ups failed: {failed:?}",
        failed.len(),
        innocent.len()
    );

    // Afterwards every write goes through at once: groups, and a login (it writes a token).
    for i in 0..20 {
        let started = Instant::now();
        assert_eq!(create_group(&s, &token, &format!("after-{i}")).await, 201);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a write after the hang-ups took {:?}",
            started.elapsed()
        );
    }
    assert!(s
        .token(&s.b("user_name"), &s.b("password"), None)
        .await
        .is_some());
    let (st, body) = s.get_anonymous("/readyz").await;
    assert_eq!((st, body["status"].as_str()), (200, Some("ready")));
}

#[tokio::test]
async fn readyz_says_when_the_store_cannot_take_writes() {
    if backend() != Backend::Sqlite {
        return; // the SQLite write lock is what another connection can hold
    }
    let s = Server::start(None).await;
    let get = || async {
        let r = s.client.get(s.url("/readyz")).send().await.unwrap();
        status_json(r).await
    };
    assert_eq!(get().await.0, 200);

    // Another connection takes the write lock and keeps it.
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}/plugboard.db", s.data_dir.display());
    let mut holder = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::Executor::execute(&mut holder, "BEGIN IMMEDIATE")
        .await
        .unwrap();
    let started = Instant::now();
    let (st, body) = get().await;
    assert_eq!(st, 503, "{body}");
    assert_eq!(body["status"], "store not writable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // /healthz still answers.
    let health = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    sqlx::Executor::execute(&mut holder, "ROLLBACK")
        .await
        .unwrap();
    let (st, body) = get().await;
    assert_eq!((st, body["status"].as_str()), (200, Some("ready")));
}

/// A line of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

fn login_body(domain: &str, user: &str, password: &str) -> serde_json::Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": domain}, "name": user, "password": password}}}}})
}

async fn login(s: &Server, domain: &str, user: &str, password: &str) -> (u16, Duration) {
    let started = Instant::now();
    let r = s
        .client
        .post(s.url("/v3/auth/tokens?nocatalog=true"))
        .json(&login_body(domain, user, password))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), started.elapsed())
}

async fn create_user(s: &Server, token: &str, name: &str, password: &str) {
    let r = s
        .client
        .post(s.url("/v3.0/OS-USER/users"))
        .header("x-auth-token", token)
        .json(&json!({"user": {"name": name, "domain_id": s.b("domain_id"), "password": password}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_logins_keep_memory_flat_and_the_server_responsive() {
    let s = Server::start(None).await;
    let pid = s.child.as_ref().unwrap().id();
    let token = s.admin_token().await;
    create_user(&s, &token, "victim", "Victim-passw0rd").await;
    let rss_before = proc_kib(pid, "VmRSS");

    // An authenticated GET keeps answering quickly while the logins queue for hashing.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, client, url, token) = (
            stop.clone(),
            s.client.clone(),
            s.url("/v3/groups"),
            token.clone(),
        );
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let r = client.get(&url).header("x-auth-token", &token).send().await;
                assert_eq!(r.unwrap().status(), 200);
                slowest = slowest.max(started.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            slowest
        })
    };
    // 64 good logins at once, then 64 wrong passwords for one user at once.
    let (admin, password) = (s.b("user_name"), s.b("password"));
    let good: Vec<_> = (0..64)
        .map(|_| login(&s, "plugboard", &admin, &password))
        .collect();
    let good = futures_util::future::join_all(good).await;
    assert!(good.iter().all(|(st, _)| *st == 201), "{good:?}");
    let bad: Vec<_> = (0..64)
        .map(|_| login(&s, "plugboard", "victim", "Wrong-passw0rd"))
        .collect();
    let bad = futures_util::future::join_all(bad).await;
    assert!(bad.iter().all(|(st, _)| *st == 401), "{bad:?}");
    stop.store(true, Ordering::SeqCst);
    let slowest = watcher.await.unwrap();

    let peak = proc_kib(pid, "VmHWM");
    let growth_mib = peak.saturating_sub(rss_before) / 1024;
    eprintln!(
        "RSS before {} MiB, peak {} MiB, after {} MiB; slowest GET {slowest:?}",
        rss_before / 1024,
        peak / 1024,
        proc_kib(pid, "VmRSS") / 1024
    );
    assert!(
        growth_mib < 150,
        "128 logins grew the server's peak RSS by {growth_mib} MiB (from {} MiB)",
        rss_before / 1024
    );
    assert!(
        slowest < Duration::from_secs(1),
        "an authenticated GET took {slowest:?}"
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
async fn login_time_does_not_tell_which_names_exist() {
    let s = Server::start(None).await;
    let token = s.admin_token().await;
    create_user(&s, &token, "known", "Known-passw0rd").await;
    let (mut known, mut unknown_user, mut unknown_domain) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..15 {
        let (st, t) = login(&s, "plugboard", "known", &format!("Wrong-{i}")).await;
        assert_eq!(st, 401);
        known.push(t);
        let (st, t) = login(&s, "plugboard", &format!("nobody-{i}"), "Wrong-passw0rd").await;
        assert_eq!(st, 401);
        unknown_user.push(t);
        let (st, t) = login(&s, &format!("nodomain-{i}"), "known", "Wrong-passw0rd").await;
        assert_eq!(st, 401);
        unknown_domain.push(t);
    }
    let known = median(known);
    for (what, times) in [
        ("unknown user", unknown_user),
        ("unknown domain", unknown_domain),
    ] {
        let other = median(times);
        let ratio = other.as_secs_f64() / known.as_secs_f64();
        eprintln!("median login: known user {known:?}, {what} {other:?}");
        assert!(
            (0.5..2.0).contains(&ratio),
            "median login time: known user {known:?}, {what} {other:?} (ratio {ratio:.2})"
        );
    }
}
