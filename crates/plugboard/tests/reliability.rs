//! Careless and hostile clients against the real binary: clients that hang up (RST) while
//! their writes run, `/readyz` when the store cannot take writes.

#![allow(clippy::unwrap_used)]

mod common;

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
    let (st, inst) = status_json(
        s.client
            .post(s.url(&format!("/plugboard/v1/projects/{pid}/dbss/instances")))
            .header("x-auth-token", &token)
            .json(&json!({"name": "rst", "edition": "basic"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 201, "{inst}");
    let add_database = format!("/v1/{pid}/{}/audit/databases", inst["id"].as_str().unwrap());

    // 48 threads × 25 POSTs, each connection reset 0–3 ms after its request was sent: half
    // create IAM groups (one INSERT), half add DBSS databases (a write transaction).
    let storm_done = Arc::new(AtomicBool::new(false));
    let storm: Vec<_> = (0..48)
        .map(|t| {
            let token = token.clone();
            let add_database = add_database.clone();
            std::thread::spawn(move || {
                let mut rng = rand::thread_rng();
                for i in 0..25 {
                    let after = Duration::from_micros(rng.gen_range(0..3000));
                    let name = format!("rst-{t}-{i}");
                    let (path, body) = if t % 2 == 0 {
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
    assert!(s.token(&s.b("user_name"), &s.b("password"), None).await.is_some());
    let (st, body) = status_json(s.client.get(s.url("/readyz")).send().await.unwrap()).await;
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
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // /healthz still answers.
    let health = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    sqlx::Executor::execute(&mut holder, "ROLLBACK").await.unwrap();
    let (st, body) = get().await;
    assert_eq!((st, body["status"].as_str()), (200, Some("ready")));
}
