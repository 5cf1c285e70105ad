//! Paged listings: a page and its `total` are read in one read transaction, so while rows are
//! inserted concurrently the last page always holds exactly the rows its total implies —
//! jobs (a project's, across projects, a domain's), audit instances and audit databases
//! (whose total comes from the instance's counters); on SQLite and on PostgreSQL.

use crate::common;

use common::on_both;
use plugboard_core::ids::hex32;
use plugboard_core::time::now_micros;
use plugboard_store::console::JobsQuery;
use plugboard_store::dbss::{AuditDatabase, AuditInstance};
use plugboard_store::job_listing::DomainJobFilter;
use plugboard_store::jobs::{JobFilter, NewJob};
use plugboard_store::Store;

/// Rows each writer inserts.
const ROWS: i64 = 150;
/// Where the checked page starts: past the first rows, so it is the last page of a total
/// that grows.
const OFFSET: i64 = 2;
/// More than every row: the page from `OFFSET` is the last one.
const ALL: i64 = 10_000;

fn instance(project: &str) -> AuditInstance {
    AuditInstance {
        id: hex32(),
        project_id: project.into(),
        name: "audit".into(),
        edition: "custom".into(),
        database_limit: ROWS + 10,
        database_count: 0,
        on_count: 0,
        status: "ACTIVE".into(),
        created_at: now_micros(),
    }
}

fn database(instance: &str, i: i64) -> AuditDatabase {
    AuditDatabase {
        id: plugboard_core::ids::dbss_database_id(),
        instance_id: instance.into(),
        db_classification: "ECS".into(),
        name: format!("db{i}"),
        db_type: "MYSQL".into(),
        version: "10".into(),
        charset: "UTF8".into(),
        ip: "127.0.0.1".into(),
        port: format!("{}", 1000 + i),
        os: "LINUX64".into(),
        instance_name: String::new(),
        status: "OFF".into(),
        audit_status: "SHUTOFF".into(),
        audit_reason: String::new(),
        probed_at: 0,
        created_at: now_micros(),
    }
}

/// A job of no project (so every job listing below sees it: the project `""`'s, the
/// listing across projects of `[""]`, and any domain's).
fn job(i: i64) -> NewJob {
    NewJob {
        id: hex32(),
        project_id: String::new(),
        kind: "test.page".into(),
        target: format!("page-target-{i}"),
        target_name: format!("target {i}"),
        steps: vec!["one".into()],
        input: serde_json::json!({}),
        created_at: now_micros(),
        host: String::new(),
    }
}

/// Each listing's page from [`OFFSET`] (rows on it) and its total.
async fn listings(
    store: &Store,
    project: &str,
    inst: &AuditInstance,
) -> Vec<(&'static str, i64, i64)> {
    let mut seen = vec![];
    let (rows, total) = store
        .list_jobs("", &JobFilter::default(), OFFSET, ALL)
        .await
        .expect("list_jobs");
    seen.push(("list_jobs", rows.len() as i64, total));
    let across = JobsQuery {
        projects: vec![String::new()],
        ..Default::default()
    };
    let (rows, total) = store
        .list_jobs_across(&across, OFFSET, ALL)
        .await
        .expect("list_jobs_across");
    seen.push(("list_jobs_across", rows.len() as i64, total));
    let (rows, total) = store
        .list_domain_jobs(&hex32(), &DomainJobFilter::default(), OFFSET, ALL)
        .await
        .expect("list_domain_jobs");
    seen.push(("list_domain_jobs", rows.len() as i64, total));
    let (rows, total) = store
        .list_audit_instances(project, OFFSET, ALL)
        .await
        .expect("list_audit_instances");
    seen.push(("list_audit_instances", rows.len() as i64, total));
    let (rows, total) = store
        .list_audit_databases(inst, None, OFFSET, ALL)
        .await
        .expect("list_audit_databases");
    seen.push(("list_audit_databases", rows.len() as i64, total));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_page_holds_what_its_total_implies_under_concurrent_inserts() {
    on_both(|store, backend| async move {
        let project = hex32();
        let inst = instance(&project);
        store.create_audit_instance(&inst).await.expect("instance");
        let writers = vec![
            tokio::spawn({
                let store = store.clone();
                async move {
                    for i in 0..ROWS {
                        store.submit_job(&job(i)).await.expect("job");
                    }
                }
            }),
            tokio::spawn({
                let (store, project) = (store.clone(), project.clone());
                async move {
                    // The instance above is the first of the project's.
                    for _ in 1..ROWS {
                        store.create_audit_instance(&instance(&project)).await.expect("instance");
                    }
                }
            }),
            tokio::spawn({
                let (store, project, id) = (store.clone(), project.clone(), inst.id.clone());
                async move {
                    for i in 0..ROWS {
                        store.add_audit_database(&project, &database(&id, i)).await.expect("database");
                    }
                }
            }),
        ];
        let mut reads = 0;
        loop {
            let done = writers.iter().all(|w| w.is_finished());
            for (listing, on_page, total) in listings(&store, &project, &inst).await {
                assert_eq!(
                    on_page,
                    (total - OFFSET).max(0),
                    "{backend:?} {listing}: {on_page} rows from offset {OFFSET} of a total of {total}"
                );
                if done {
                    assert_eq!(total, ROWS, "{backend:?} {listing}: every row, once written");
                }
            }
            reads += 1;
            if done {
                break;
            }
        }
        for w in writers {
            w.await.expect("writer");
        }
        eprintln!("{backend:?}: {reads} rounds of the five listings while the rows went in");
    })
    .await;
}
