//! Health, readiness and metrics over the real binary: `/healthz`, `/readyz` and the Prometheus
//! page with requests, jobs by kind and state, and job durations.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{extension_package, serve_bytes, status_json, Server};
use serde_json::json;

#[tokio::test]
async fn health_ready_metrics() {
    let s = Server::start(None).await;
    let (st, body) = s.get_anonymous("/healthz").await;
    assert_eq!((st, body), (200, json!({"status": "ok"})));
    let (st, body) = s.get_anonymous("/readyz").await;
    assert_eq!((st, body), (200, json!({"status": "ready"})));
    let text = s.metrics().await;
    assert!(text.contains("plugboard_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/healthz\""), "{text}");
}

/// The value of the sample `name{labels}` in a Prometheus text page (labels in any order).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (label_part, value) = match rest.strip_prefix('{') {
            Some(r) => r.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        labels
            .iter()
            .all(|(k, v)| label_part.split(',').any(|l| l == format!("{k}=\"{v}\"")))
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

#[tokio::test]
async fn metrics_expose_requests_jobs_by_kind_and_state_and_job_durations() {
    let name = format!("pbmetrics_{}", &plugboard_core::ids::hex32()[..6]);
    let (package, sha) = extension_package(&name);
    let base = serve_bytes(package);
    let config = format!(
        "[gaussdb]\nsupported_plugins = [\"{name}\"]\n[network]\nallow = [\"{base}/\"]\nallow_private = true\n"
    );
    let s = Server::start(Some(&config)).await;
    let pid = s.b("project_id");
    let body = serde_json::to_vec(&json!({"name": "sim", "host": "db.example", "port": 6000,
        "user": "app", "password": "", "database": "postgres", "install": {"mode": "simulated"}}))
    .unwrap();
    let (st, inst) = status_json(
        s.admin_signed(
            "POST",
            &format!("/plugboard/v1/projects/{pid}/gaussdb/instances"),
            &body,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, 201, "{inst}");
    let iid = inst["id"].as_str().unwrap();
    let body = serde_json::to_vec(
        &json!({"plugin_name": name, "url": format!("{base}/{name}.tar.gz"), "sha_256": sha}),
    )
    .unwrap();
    let (st, job) = status_json(
        s.admin_signed(
            "POST",
            &format!("/v3/{pid}/instances/{iid}/kernel-plugin"),
            &body,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(st == 200 || st == 202, "{st} {job}");

    let kind = [("kind", "InstallKernelPlugin")];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let text = loop {
        let text = s.metrics().await;
        let done = [("kind", "InstallKernelPlugin"), ("status", "Completed")];
        if sample(&text, "plugboard_jobs_total", &done) == Some(1.0) {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no finished job in\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    // Jobs by kind and state (read from the store at scrape time), and job durations. Sound
    // on the page that first counts the job finished, however loaded the machine: the job is
    // counted (after its duration) only once its end is committed, and `/metrics` reads the
    // store after the counters (docs/operations.md → Health and metrics).
    assert_eq!(
        sample(
            &text,
            "plugboard_jobs",
            &[("kind", "InstallKernelPlugin"), ("state", "Completed")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "plugboard_job_duration_seconds_count", &kind),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains("plugboard_jobs_running"), "{text}");
    // Requests by route, method and status, with latency.
    let install_route = [
        (
            "route",
            "/v3/{project_id}/instances/{instance_id}/kernel-plugin",
        ),
        ("method", "POST"),
    ];
    assert_eq!(
        sample(&text, "plugboard_http_requests_total", &install_route),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "plugboard_http_request_duration_seconds_count",
            &[(
                "route",
                "/v3/{project_id}/instances/{instance_id}/kernel-plugin"
            )]
        )
        .is_some(),
        "{text}"
    );
    // A simulated install downloads nothing; the counter is listed anyway.
    assert!(
        sample(&text, "plugboard_download_bytes_total", &[]).is_some(),
        "{text}"
    );
    assert!(
        text.contains("# HELP plugboard_jobs Jobs in the store by kind and state"),
        "{text}"
    );
}
