//! Each job kind's handler run on its own by the harness (`plugboard_jobs::testing`, no
//! engine): its steps in order, retries of a transient failure, and what a failure commits.
//! The five kinds: GaussDB install, ServiceStage add-on action, ZStack Refresh and Delete
//! api-jobs, ZStack web-hook delivery. (DBSS runs no jobs: its audit probes are a monitor.)
//! The back-end follows `PLUGBOARD_TEST_BACKEND`.

use plugboard_core::config::{Config, Overrides};
use plugboard_core::secrets::MasterKey;
use plugboard_core::time::now_micros;
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_jobs::testing::Harness;
use plugboard_jobs::{JobKind, JobOutcome};
use plugboard_service::gaussdb::install::{
    InstallHandler, InstallInput, InstallKernelPlugin, InstanceTarget,
};
use plugboard_service::gaussdb::mode::Mode;
use plugboard_service::gaussdb::{InstallRequest, Registration};
use plugboard_service::servicestage::addon_job::{AddonJob, AddonJobHandler};
use plugboard_service::servicestage::{CreateEnvironment, InstallAddon};
use plugboard_service::zstack::jobs::{
    DeleteHandler, DeleteMode, DeletePluginDrivers, DeletePluginDriversInput, DeliverWebHook,
    DriverTarget, RefreshHandler, RefreshPluginDrivers, RefreshPluginDriversInput, RefreshTarget,
    WebHookHandler, WebHookInput,
};
use plugboard_service::{Deps, Services};
use plugboard_store::jobs::{Job, JobFilter, NewJob};
use plugboard_store::servicestage::EnvResource;
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use std::sync::Arc;

fn backend() -> Backend {
    match std::env::var("PLUGBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

struct World {
    db: TestDb,
    store: Store,
    services: Services,
    network: Arc<NetworkPolicy>,
    services_config: Config,
    key: MasterKey,
    dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let mut config = Config::resolve(Overrides {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .expect("config");
    config.gaussdb.supported_plugins = vec!["pbtest".into()];
    config.network.allow = vec!["http://127.0.0.1:9/".into()];
    config.network.allow_private = true;
    let network = Arc::new(NetworkPolicy::from_config(&config.network).expect("policy"));
    let key = MasterKey::load_or_create(&dir.path().join("master.key")).expect("key");
    let services = Services::new(&Deps {
        config: config.clone(),
        store: store.clone(),
        key: key.clone(),
        network: network.clone(),
        job_waker: Arc::new(tokio::sync::Notify::new()),
        identity: Arc::new(plugboard_auth::identity::Identity::new(
            store.clone(),
            key.clone(),
            config.iam.clone(),
        )),
        driver_program: "plugboard".into(),
    });
    World {
        db,
        store,
        services,
        network,
        services_config: config,
        key,
        dir,
    }
}

/// (step, attempt 1) for each of `n` steps: every step ran once.
fn once_each(n: usize) -> Vec<(usize, u32)> {
    (0..n).map(|s| (s, 1)).collect()
}

/// The jobs of `kind` that belong to no project (ZStack's).
async fn jobs_of(store: &Store, kind: &str) -> Vec<Job> {
    let filter = JobFilter {
        kind: Some(kind.into()),
        ..Default::default()
    };
    store.list_jobs("", &filter, 0, 100).await.expect("jobs").0
}

// -- GaussDB install ------------------------------------------------------------------------

fn install_handler(w: &World) -> Arc<InstallHandler> {
    Arc::new(InstallHandler {
        store: w.store.clone(),
        policy: w.network.clone(),
        key: w.key.clone(),
        staging_root: w.dir.path().join("staging"),
        limits: plugboard_drivers::package::PackageLimits::default(),
        cache: Default::default(),
    })
}

#[tokio::test]
async fn gaussdb_install_runs_its_steps_and_records_the_plugin() {
    let w = world().await;
    let gaussdb = &w.services.gaussdb;
    let i = gaussdb
        .register(
            PROJECT,
            Registration {
                name: "sim".into(),
                host: "db.invalid".into(),
                port: 5432,
                user: "app".into(),
                password: "secret".into(),
                database: "postgres".into(),
                mode: "simulated".into(),
                pg_config: None,
                sharedir: None,
                pkglibdir: None,
            },
        )
        .await
        .expect("registered");
    let request = InstallRequest {
        plugin_name: "pbtest".into(),
        url: "http://127.0.0.1:9/pbtest.tar.gz".into(),
        sha_256: "ab".repeat(32),
    };
    let job_id = gaussdb
        .install(PROJECT, &i.id, &request)
        .await
        .expect("job");
    let run = Harness::<InstallKernelPlugin>::new(w.store.clone(), install_handler(&w))
        .run(PROJECT, &job_id)
        .await;
    assert_eq!(run.outcome, Some(JobOutcome::Completed));
    assert_eq!(run.tries, once_each(InstallKernelPlugin::STEPS.len()));
    assert_eq!(
        (run.job.status.as_str(), run.job.progress),
        ("completed", 100)
    );
    assert_eq!(
        gaussdb
            .installed_plugin_names(PROJECT, &i.id)
            .await
            .expect("names"),
        vec!["pbtest".to_string()]
    );

    // A package server that refuses connections: the download is retried, then the job
    // fails at that step and records nothing.
    let input = InstallInput {
        instance_id: i.id.clone(),
        plugin_name: "pbtest".into(),
        url: "http://127.0.0.1:9/pbtest.tar.gz".into(),
        sha_256: "ab".repeat(32),
        mode: Mode::Local,
    };
    let job = InstallKernelPlugin::new_job(
        plugboard_core::ids::uuid(),
        PROJECT.into(),
        &InstanceTarget(i.id.clone()),
        i.name.clone(),
        &input,
        now_micros(),
    )
    .expect("job");
    let run = Harness::<InstallKernelPlugin>::new(w.store.clone(), install_handler(&w))
        .max_attempts(3)
        .submit_and_run(&job)
        .await;
    let Some(JobOutcome::Failed(reason)) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(run.tries, vec![(0, 1), (0, 2), (0, 3)], "{reason}");
    assert!(reason.ends_with("(gave up after 3 attempts)"), "{reason}");
    assert_eq!(run.job.steps[0].status, "failed");
    assert_eq!(run.job.fail_reason, *reason);
    assert_eq!(
        gaussdb
            .installed_plugin_names(PROJECT, &i.id)
            .await
            .expect("names"),
        vec!["pbtest".to_string()],
        "the failed install recorded nothing"
    );
    w.db.cleanup().await;
}

// -- ServiceStage add-on ----------------------------------------------------------------------

/// An environment with a CCE cluster bound, and the simulated driver offering `pbAddon`
/// (failing every step named in `fail`, when given).
async fn addon_world(w: &World, fail: Option<&str>) -> String {
    let plugins = w.dir.path().join("plugins").join("simulated");
    std::fs::create_dir_all(&plugins).expect("plugins");
    let mut settings = String::from("[[addons]]\nname = \"pbAddon\"\nversions = [\"1.0.0\"]\n");
    if let Some(step) = fail {
        settings.push_str(&format!(
            "[[fail]]\nstep = \"{step}\"\nmessage = \"scripted failure\"\nretry = false\n"
        ));
    }
    std::fs::write(plugins.join("simulated.toml"), settings).expect("settings");
    let ss = &w.services.servicestage;
    ss.registry().refresh().await.expect("drivers");
    let env = ss
        .create_environment(
            PROJECT,
            "tester",
            CreateEnvironment {
                name: Some(format!("env-{}", &plugboard_core::ids::hex32()[..6])),
                description: None,
                enterprise_project_id: None,
                vpc_id: Some("vpc-1".into()),
                deploy_mode: None,
                labels: None,
            },
        )
        .await
        .expect("environment");
    ss.modify_resources(
        PROJECT,
        &env.id,
        vec![EnvResource {
            id: "cce-1".into(),
            name: "cce".into(),
            kind: "cce".into(),
        }],
    )
    .await
    .expect("resources");
    env.id
}

fn addon_handler(w: &World) -> Arc<AddonJobHandler> {
    Arc::new(AddonJobHandler::new(
        w.store.clone(),
        w.services.servicestage.registry().clone(),
        w.dir.path().join("addons"),
    ))
}

async fn install_addon(w: &World, env: &str) -> (String, String) {
    let addon = w
        .services
        .servicestage
        .install_addon(
            PROJECT,
            "tester",
            env,
            InstallAddon {
                name: Some("pbAddon".into()),
                cce_id: Some("cce-1".into()),
                cse_id: None,
            },
        )
        .await
        .expect("install");
    (addon.id, addon.job_id)
}

#[tokio::test]
async fn servicestage_addon_install_succeeds_or_fails_the_addon_with_its_job() {
    let w = world().await;
    let env = addon_world(&w, None).await;
    let (addon, job) = install_addon(&w, &env).await;
    let run = Harness::<AddonJob>::new(w.store.clone(), addon_handler(&w))
        .run(PROJECT, &job)
        .await;
    assert_eq!(run.outcome, Some(JobOutcome::Completed));
    assert_eq!(run.tries, once_each(run.job.steps.len()));
    let shown = w
        .services
        .servicestage
        .addon(PROJECT, &env, &addon)
        .await
        .expect("addon");
    assert_eq!(shown.status, "SUCCEEDED");

    // A step that fails (not to be retried): the job fails there, and the add-on is FAILED in
    // the same transaction.
    let w2 = world().await;
    let env = addon_world(&w2, Some("verify")).await;
    let (addon, job) = install_addon(&w2, &env).await;
    let run = Harness::<AddonJob>::new(w2.store.clone(), addon_handler(&w2))
        .run(PROJECT, &job)
        .await;
    let Some(JobOutcome::Failed(reason)) = &run.outcome else {
        panic!("{:?} {:?}", run.outcome, run.job)
    };
    assert!(reason.contains("scripted failure"), "{reason}");
    let failed_at = run.tries.last().expect("tried").0;
    assert_eq!(run.job.steps[failed_at].name, "verify");
    assert!(run.tries.iter().all(|(_, attempt)| *attempt == 1));
    let shown = w2
        .services
        .servicestage
        .addon(PROJECT, &env, &addon)
        .await
        .expect("addon");
    assert_eq!(shown.status, "FAILED");
    w.db.cleanup().await;
    w2.db.cleanup().await;
}

// -- ZStack api-jobs and their web hooks ------------------------------------------------------

fn refresh_job(hook: &str) -> NewJob {
    let id = plugboard_core::ids::hex32();
    let input = RefreshPluginDriversInput {
        name: None,
        web_hook: Some(hook.into()),
    };
    RefreshPluginDrivers::new_job(
        id.clone(),
        String::new(),
        &RefreshTarget(id),
        "*".into(),
        &input,
        now_micros(),
    )
    .expect("job")
}

/// The web-hook delivery submitted with api-job `of`.
async fn delivery_of(store: &Store, of: &str) -> Job {
    for job in jobs_of(store, DeliverWebHook::KIND).await {
        if DeliverWebHook::parse_target(&job.target).as_deref() == Some(of) {
            return job;
        }
    }
    panic!("no delivery for {of}");
}

#[tokio::test]
async fn zstack_refresh_completes_or_fails_and_submits_its_web_hook_either_way() {
    let w = world().await;
    let registry = w.services.zstack.registry().clone();
    let hook = "http://127.0.0.1:1/hook";
    let ok = refresh_job(hook);
    let run = Harness::<RefreshPluginDrivers>::new(
        w.store.clone(),
        Arc::new(RefreshHandler {
            registry: registry.clone(),
        }),
    )
    .submit_and_run(&ok)
    .await;
    assert_eq!(run.outcome, Some(JobOutcome::Completed));
    assert_eq!(run.tries, once_each(1));
    let delivery = DeliverWebHook::input_of(&delivery_of(&w.store, &ok.id).await).expect("input");
    assert_eq!((delivery.success, delivery.url.as_str()), (true, hook));

    // A driver folder that does not load: the refresh fails, and its web hook says so.
    let broken = w.dir.path().join("plugins").join("broken");
    std::fs::create_dir_all(&broken).expect("folder");
    std::fs::write(broken.join("driver.toml"), "this is not toml [").expect("manifest");
    let bad = refresh_job(hook);
    let run = Harness::<RefreshPluginDrivers>::new(
        w.store.clone(),
        Arc::new(RefreshHandler { registry }),
    )
    .submit_and_run(&bad)
    .await;
    assert!(
        matches!(run.outcome, Some(JobOutcome::Failed(_))),
        "{run:?}"
    );
    let delivery = DeliverWebHook::input_of(&delivery_of(&w.store, &bad.id).await).expect("input");
    assert!(!delivery.success);
    assert!(delivery.body["error"].is_object(), "{}", delivery.body);
    w.db.cleanup().await;
}

#[tokio::test]
async fn zstack_delete_of_an_unknown_driver_completes() {
    let w = world().await;
    let uuid = plugboard_core::ids::hex32();
    let input = DeletePluginDriversInput {
        uuid: uuid.clone(),
        mode: DeleteMode::Enforcing,
        web_hook: None,
    };
    let job = DeletePluginDrivers::new_job(
        plugboard_core::ids::hex32(),
        String::new(),
        &DriverTarget(uuid.clone()),
        uuid,
        &input,
        now_micros(),
    )
    .expect("job");
    let run = Harness::<DeletePluginDrivers>::new(
        w.store.clone(),
        Arc::new(DeleteHandler {
            store: w.store.clone(),
            registry: w.services.zstack.registry().clone(),
        }),
    )
    .submit_and_run(&job)
    .await;
    assert_eq!(run.outcome, Some(JobOutcome::Completed));
    assert_eq!(run.tries, once_each(DeletePluginDrivers::STEPS.len()));
    assert!(jobs_of(&w.store, DeliverWebHook::KIND).await.is_empty());
    w.db.cleanup().await;
}

/// A receiver on loopback answering every request with `status`; the requests' heads.
async fn receiver(status: u16) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            let n = s.read(&mut buf).await.unwrap_or(0);
            log.lock()
                .expect("log")
                .push(String::from_utf8_lossy(&buf[..n]).to_string());
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            s.write_all(answer.as_bytes()).await.ok();
        }
    });
    (url, seen)
}

fn delivery(url: &str) -> NewJob {
    let of = plugboard_core::ids::hex32();
    let input = WebHookInput {
        url: url.into(),
        job_uuid: of.clone(),
        success: true,
        body: serde_json::json!({"inventory": {}}),
    };
    DeliverWebHook::new_job(
        plugboard_core::ids::hex32(),
        String::new(),
        &of,
        url.into(),
        &input,
        now_micros(),
    )
    .expect("job")
}

#[tokio::test]
async fn zstack_web_hook_is_delivered_with_its_headers_or_fails_when_not_allowed() {
    let w = world().await;
    let (url, seen) = receiver(200).await;
    let job = delivery(&url);
    let mut allow = w.services_config.network.clone();
    allow.allow = vec![url.clone()];
    let harness = Harness::<DeliverWebHook>::new(
        w.store.clone(),
        Arc::new(WebHookHandler {
            network: Arc::new(NetworkPolicy::from_config(&allow).expect("policy")),
        }),
    );
    let run = harness.submit_and_run(&job).await;
    assert_eq!(run.outcome, Some(JobOutcome::Completed));
    assert_eq!(run.tries, once_each(1));
    let heads = seen.lock().expect("seen").clone();
    assert_eq!(heads.len(), 1);
    let head = heads[0].to_ascii_lowercase();
    let of = DeliverWebHook::input_of(&run.job).expect("input").job_uuid;
    assert!(head.contains(&format!("x-job-uuid: {of}")), "{head}");
    assert!(head.contains("x-job-success: true"), "{head}");

    // The metadata address is never reachable: failed at once, no retry.
    let run = harness
        .submit_and_run(&delivery("http://169.254.169.254/hook"))
        .await;
    let Some(JobOutcome::Failed(reason)) = &run.outcome else {
        panic!("{run:?}")
    };
    assert!(reason.contains("is not allowed"), "{reason}");
    assert_eq!(run.tries, vec![(0, 1)]);
    w.db.cleanup().await;
}
