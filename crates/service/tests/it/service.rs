//! The service layer without HTTP, on the back-end `PLUGBOARD_TEST_BACKEND` names: GaussDB
//! install admission into a typed job that the registered handler runs to completion, the
//! DBSS rules, and a job that fails and commits its failure effect in the same transaction as
//! its failure (and not at all when it does not end there).

use plugboard_core::config::{Config, Overrides};
use plugboard_core::ids::hex32;
use plugboard_core::secrets::MasterKey;
use plugboard_core::time::now_micros;
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_jobs::{Engine, EngineConfig, JobHandler, JobKind, StepCtx, StepError};
use plugboard_service::gaussdb::install::{
    InstallInput, InstallKernelPlugin, InstanceTarget, RecordInstall,
};
use plugboard_service::gaussdb::mode::Mode;
use plugboard_service::gaussdb::{Error as GaussDbError, InstallRequest, Registration};
use plugboard_service::{dbss, Deps, Services};
use plugboard_store::gaussdb::InstalledPlugin;
use plugboard_store::jobs::{BoxedEffect, Job, NewJob, COMPLETED, FAILED};
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

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
    _dir: tempfile::TempDir,
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
        network,
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
        _dir: dir,
    }
}

fn engine_config() -> EngineConfig {
    EngineConfig {
        lease_seconds: 5,
        poll_interval: Duration::from_millis(50),
        max_attempts: 2,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(50),
        ..EngineConfig::default()
    }
}

async fn wait_ended(store: &Store, id: &str) -> Job {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let job = store.get_job(PROJECT, id).await.expect("job");
        if !plugboard_store::jobs::ACTIVE.contains(&job.status.as_str()) {
            return job;
        }
        assert!(Instant::now() < deadline, "job still active: {job:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn simulated(name: &str) -> Registration {
    Registration {
        name: name.into(),
        host: "db.invalid".into(),
        port: 5432,
        user: "app".into(),
        password: "secret".into(),
        database: "postgres".into(),
        mode: "simulated".into(),
        pg_config: None,
        sharedir: None,
        pkglibdir: None,
    }
}

fn failing_job(instance_id: &str, name: &str) -> NewJob {
    NewJob {
        id: plugboard_core::ids::uuid(),
        project_id: PROJECT.into(),
        kind: "FailsWithEffect".into(),
        target: format!("test:{instance_id}"),
        target_name: name.into(),
        steps: vec!["only".into()],
        input: serde_json::json!({}),
        created_at: now_micros(),
        host: String::new(),
    }
}

#[tokio::test]
async fn an_admitted_install_is_a_typed_job_that_the_registered_handler_completes() {
    let w = world().await;
    let gaussdb = &w.services.gaussdb;
    let i = gaussdb
        .register(PROJECT, simulated("sim"))
        .await
        .expect("registered");
    let request = InstallRequest {
        plugin_name: " pbtest ".into(),
        url: "http://127.0.0.1:9/pbtest.tar.gz".into(),
        sha_256: "AB".repeat(32),
    };
    // refused before anything is stored
    let unsupported = InstallRequest {
        plugin_name: "other".into(),
        ..request.clone()
    };
    assert!(matches!(
        gaussdb.install(PROJECT, &i.id, &unsupported).await,
        Err(GaussDbError::UnsupportedPlugin(_))
    ));
    let not_allowed = InstallRequest {
        url: "http://127.0.0.2:9/p.tar.gz".into(),
        ..request.clone()
    };
    assert!(matches!(
        gaussdb.install(PROJECT, &i.id, &not_allowed).await,
        Err(GaussDbError::UrlNotAllowed(_))
    ));
    assert!(matches!(
        gaussdb.install(PROJECT, &"0".repeat(32), &request).await,
        Err(GaussDbError::BadInstanceId(_))
    ));
    let (jobs, total) = gaussdb
        .tasks(PROJECT, &Default::default(), 0, 10)
        .await
        .expect("tasks");
    assert_eq!((jobs.len(), total), (0, 0), "nothing stored by a refusal");

    let job_id = gaussdb
        .install(PROJECT, &i.id, &request)
        .await
        .expect("job");
    let job = w.store.get_job(PROJECT, &job_id).await.expect("stored");
    assert_eq!(job.kind, InstallKernelPlugin::KIND);
    assert_eq!(
        InstallKernelPlugin::parse_target(&job.target),
        Some(InstanceTarget(i.id.clone()))
    );
    assert_eq!(
        InstallKernelPlugin::input_of(&job).expect("typed input"),
        InstallInput {
            instance_id: i.id.clone(),
            plugin_name: "pbtest".into(),
            url: "http://127.0.0.1:9/pbtest.tar.gz".into(),
            sha_256: "ab".repeat(32),
            mode: Mode::Simulated,
        }
    );
    // one job per instance at a time
    assert!(matches!(
        gaussdb.install(PROJECT, &i.id, &request).await,
        Err(GaussDbError::Busy(_))
    ));

    let staging = tempfile::tempdir().expect("staging");
    let mut engine = Engine::new(w.store.clone(), hex32(), engine_config());
    let background =
        plugboard_service::register(&mut engine, &w.services, staging.path().to_path_buf());
    let stop = CancellationToken::new();
    let run = tokio::spawn(engine.run(stop.clone()));
    let done = wait_ended(&w.store, &job_id).await;
    assert_eq!((done.status.as_str(), done.progress), (COMPLETED, 100));
    assert_eq!(
        gaussdb
            .installed_plugin_names(PROJECT, &i.id)
            .await
            .expect("names"),
        vec!["pbtest".to_string()]
    );
    stop.cancel();
    run.await.expect("engine");
    background.stop();
    w.db.cleanup().await;
}

/// The kind `FailsWithEffect` runs.
struct FailsWithEffectKind;

impl JobKind for FailsWithEffectKind {
    const KIND: &'static str = "FailsWithEffect";
    const STEPS: &'static [&'static str] = &["install"];
    type Input = serde_json::Value;
    type Target = String;

    fn target_key(target: &String) -> String {
        target.clone()
    }

    fn parse_target(key: &str) -> Option<String> {
        Some(key.to_string())
    }
}

/// Fails its only step; its failure effect records a plug-in install.
struct FailsWithEffect {
    instance_id: String,
}

#[async_trait::async_trait]
impl JobHandler<FailsWithEffectKind> for FailsWithEffect {
    async fn run_step(
        &self,
        _ctx: &mut StepCtx,
        _input: &serde_json::Value,
    ) -> Result<(), StepError> {
        Err(StepError::Failed("the add-on cannot be installed".into()))
    }

    fn failure_effects(
        &self,
        job: &Job,
        _input: &serde_json::Value,
        reason: &str,
    ) -> Vec<BoxedEffect> {
        vec![Arc::new(RecordInstall {
            plugin: InstalledPlugin {
                instance_id: self.instance_id.clone(),
                plugin_name: "failed-addon".into(),
                version: format!("FAILED: {reason}"),
                sha256: "0".repeat(64),
                extensions: vec![],
                job_id: job.id.clone(),
                installed_at: now_micros(),
            },
            files: None,
        })]
    }
}

#[tokio::test]
async fn a_failing_job_commits_its_failure_effect_with_its_failure() {
    let w = world().await;
    let i = w
        .services
        .gaussdb
        .register(PROJECT, simulated("fails"))
        .await
        .expect("registered");
    let mut engine = Engine::new(w.store.clone(), hex32(), engine_config());
    engine.register::<FailsWithEffectKind>(Arc::new(FailsWithEffect {
        instance_id: i.id.clone(),
    }));
    let job = failing_job(&i.id, &i.name);
    w.store.submit_job(&job).await.expect("submitted");
    let stop = CancellationToken::new();
    let run = tokio::spawn(engine.run(stop.clone()));
    let done = wait_ended(&w.store, &job.id).await;
    assert_eq!(
        (done.status.as_str(), done.fail_reason.as_str()),
        (FAILED, "the add-on cannot be installed")
    );
    let recorded = w.store.list_installed_plugins(&i.id).await.expect("list");
    assert_eq!(
        recorded.len(),
        1,
        "the failure effect is committed: {recorded:?}"
    );
    assert_eq!(recorded[0].job_id, job.id);
    assert_eq!(
        recorded[0].version,
        "FAILED: the add-on cannot be installed"
    );
    stop.cancel();
    run.await.expect("engine");
    w.db.cleanup().await;
}

#[tokio::test]
async fn a_failure_effect_is_not_applied_when_the_job_does_not_end_there() {
    let w = world().await;
    let i = w
        .services
        .gaussdb
        .register(PROJECT, simulated("fenced"))
        .await
        .expect("registered");
    let job = failing_job(&i.id, &i.name);
    w.store.submit_job(&job).await.expect("submitted");
    let now = now_micros();
    let claimed = w
        .store
        .claim_jobs("me", "", now, now + 60_000_000, 10)
        .await
        .expect("claimed");
    assert_eq!(claimed.len(), 1);
    let handler = FailsWithEffect {
        instance_id: i.id.clone(),
    };
    let end = plugboard_store::jobs::JobEnd {
        id: job.id.clone(),
        status: plugboard_store::jobs::JobState::Failed,
        fail_reason: "lost".into(),
        progress: 0,
        steps: claimed[0].steps.clone(),
        context: Default::default(),
        ended_at: now_micros(),
        effects: handler.failure_effects(&claimed[0], &claimed[0].input, "lost"),
    };
    // another process holds the lease: the end and its effect are both refused
    assert!(!w
        .store
        .finish_job("someone-else", &end)
        .await
        .expect("fenced"));
    assert!(w
        .store
        .list_installed_plugins(&i.id)
        .await
        .expect("list")
        .is_empty());
    assert!(w.store.finish_job("me", &end).await.expect("ended"));
    assert_eq!(
        w.store
            .list_installed_plugins(&i.id)
            .await
            .expect("list")
            .len(),
        1
    );
    w.db.cleanup().await;
}

#[tokio::test]
async fn dbss_rules_refuse_before_anything_is_stored() {
    let w = world().await;
    let dbss = &w.services.dbss;
    let inst = dbss
        .create_instance(
            PROJECT,
            &dbss::NewAuditInstance {
                name: " audit ".into(),
                edition: Some("entry".into()),
                database_limit: None,
            },
        )
        .await
        .expect("created");
    assert_eq!((inst.name.as_str(), inst.database_limit), ("audit", 1));
    let fields = dbss::DatabaseFields {
        db_classification: "ECS".into(),
        name: "app".into(),
        db_type: "MYSQL".into(),
        version: "8.0".into(),
        charset: "UTF8".into(),
        ip: "::ffff:10.0.0.5".into(),
        port: "3306".into(),
        os: "LINUX64".into(),
        instance_name: None,
    };
    let bad_port = dbss::DatabaseFields {
        port: "03306".into(),
        ..fields.clone()
    };
    assert!(matches!(
        dbss.add_database(PROJECT, &inst.id, bad_port).await,
        Err(dbss::Error::Invalid(m)) if m.starts_with("database.port")
    ));
    dbss.add_database(PROJECT, &inst.id, fields.clone())
        .await
        .expect("added");
    assert!(matches!(
        dbss.add_database(PROJECT, &inst.id, fields).await,
        Err(dbss::Error::LimitReached)
    ));
    let (rows, total) = dbss
        .list_databases(PROJECT, &inst.id, None, Ok((0, 10)))
        .await
        .expect("listed");
    assert_eq!((rows.len(), total), (1, 1));
    assert_eq!(rows[0].ip, "10.0.0.5", "stored in one spelling");
    w.db.cleanup().await;
}
