//! [`TestApp`]'s helper methods per endpoint (zero2prod's `TestApp`): a request as a token
//! holder by verb (`get`, `post`, …) and the endpoints the tests call most by their
//! operation's name, each returning the status and JSON body or checking the status every
//! caller expects.

use super::{call, status_json, TestApp};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Requests by verb: `method path` with `X-Auth-Token: token` (and a JSON body); the status
/// and JSON body.
impl TestApp {
    /// `method path` with `body` as JSON when given.
    pub async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        call(self, token, method, path, body).await
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        call(self, token, "GET", path, None).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> (u16, Value) {
        call(self, token, "DELETE", path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        call(self, token, "POST", path, Some(body)).await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        call(self, token, "PUT", path, Some(body)).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        call(self, token, "PATCH", path, Some(body)).await
    }
}

/// Without credentials.
impl TestApp {
    /// `GET path` with no credentials (`/healthz`, `/readyz`, `/openapi.json`): the status
    /// and JSON body.
    pub async fn get_anonymous(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("response");
        status_json(r).await
    }

    /// The Prometheus page (`GET /metrics`).
    pub async fn metrics(&self) -> String {
        let r = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("response");
        r.text().await.expect("metrics text")
    }
}

/// IAM.
impl TestApp {
    /// `CreateUser` (`POST /v3.0/OS-USER/users`).
    pub async fn create_user(&self, token: &str, body: Value) -> (u16, Value) {
        self.post(token, "/v3.0/OS-USER/users", body).await
    }

    /// `CreatePermanentAccessKey` (`POST /v3.0/OS-CREDENTIAL/credentials`).
    pub async fn create_credential(&self, token: &str, body: Value) -> (u16, Value) {
        self.post(token, "/v3.0/OS-CREDENTIAL/credentials", body)
            .await
    }

    /// `KeystoneCreateGroup` (`POST /v3/groups`).
    pub async fn create_group(&self, token: &str, body: Value) -> (u16, Value) {
        self.post(token, "/v3/groups", body).await
    }

    /// `KeystoneAddUserToGroup` (`PUT /v3/groups/{group}/users/{user}`).
    pub async fn add_user_to_group(&self, token: &str, group: &str, user: &str) -> (u16, Value) {
        let path = format!("/v3/groups/{group}/users/{user}");
        self.call(token, "PUT", &path, None).await
    }

    /// Grant `role` to `group` on `scope` (`projects/{id}` or `domains/{id}`):
    /// `KeystoneAssociateGroupWithProjectPermission` or `…WithDomainPermission`
    /// (`PUT /v3/{scope}/groups/{group}/roles/{role}`).
    pub async fn grant_group_role(
        &self,
        token: &str,
        scope: &str,
        group: &str,
        role: &str,
    ) -> (u16, Value) {
        let path = format!("/v3/{scope}/groups/{group}/roles/{role}");
        self.call(token, "PUT", &path, None).await
    }

    /// `method /v3/auth/tokens` about `subject` (`X-Subject-Token`) as `token`'s holder:
    /// `KeystoneValidateToken` (GET), `KeystoneCheckToken` (HEAD), revoking it (DELETE). The
    /// response, for its headers.
    pub async fn subject_token(
        &self,
        method: &str,
        token: &str,
        subject: &str,
    ) -> reqwest::Response {
        self.client
            .request(method.parse().expect("method"), self.url("/v3/auth/tokens"))
            .header("x-auth-token", token)
            .header("x-subject-token", subject)
            .send()
            .await
            .expect("response")
    }

    /// `KeystoneCreateProject` (`POST /v3/projects`).
    pub async fn create_project(&self, token: &str, body: Value) -> (u16, Value) {
        self.post(token, "/v3/projects", body).await
    }
}

/// DBSS, in the bootstrap project.
impl TestApp {
    /// Create an audit instance (`POST /plugboard/v1/projects/{project}/dbss/instances`,
    /// checked 201); its id.
    pub async fn create_dbss_instance(&self, token: &str, body: Value) -> String {
        let pid = self.b("project_id");
        let path = format!("/plugboard/v1/projects/{pid}/dbss/instances");
        let (status, inst) = self.post(token, &path, body).await;
        assert_eq!(status, 201, "{inst}");
        inst["id"].as_str().expect("instance id").to_string()
    }

    /// `/{version}/{project}/audit/{instance}/{tail}` in the bootstrap project.
    fn audit_path(&self, version: &str, instance: &str, tail: &str) -> String {
        format!(
            "/{version}/{}/audit/{instance}/{tail}",
            self.b("project_id")
        )
    }

    /// `AddAuditDatabase` (`POST /v2/{project}/audit/{instance}/databases`).
    pub async fn add_audit_database(
        &self,
        token: &str,
        instance: &str,
        body: Value,
    ) -> (u16, Value) {
        let path = self.audit_path("v2", instance, "databases");
        self.post(token, &path, body).await
    }

    /// `ListAuditDatabases` (`GET /v2/{project}/audit/{instance}/databases?{query}`; no `?`
    /// when `query` is empty).
    pub async fn list_audit_databases(
        &self,
        token: &str,
        instance: &str,
        query: &str,
    ) -> (u16, Value) {
        let mut path = self.audit_path("v2", instance, "databases");
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        self.get(token, &path).await
    }

    /// `SwitchAuditDatabase` (`POST /v3/{project}/audit/{instance}/databases/switch`).
    pub async fn switch_audit_database(
        &self,
        token: &str,
        instance: &str,
        body: Value,
    ) -> (u16, Value) {
        let path = self.audit_path("v3", instance, "databases/switch");
        self.post(token, &path, body).await
    }
}

/// GaussDB, in the bootstrap project.
impl TestApp {
    /// Register a GaussDB instance in the bootstrap project (`POST /plugboard/v1/projects/
    /// {project}/gaussdb/instances` with `body`); its id.
    pub async fn register_gaussdb_instance(&self, token: &str, body: Value) -> String {
        let pid = self.b("project_id");
        let path = format!("/plugboard/v1/projects/{pid}/gaussdb/instances");
        let (status, inst) = self.call(token, "POST", &path, Some(body)).await;
        assert_eq!(status, 201, "{inst}");
        inst["id"].as_str().expect("instance id").to_string()
    }

    /// A GaussDB instance whose installs the simulated mode carries out; its id.
    pub async fn simulated_gaussdb_instance(&self, token: &str) -> String {
        self.register_gaussdb_instance(
            token,
            serde_json::json!({"name": "sim", "host": "db.example", "port": 6000, "user": "app",
                "password": "", "database": "postgres", "install": {"mode": "simulated"}}),
        )
        .await
    }

    /// `InstallKernelPlugin` on `instance` with `body`: status and JSON body.
    pub async fn install_kernel_plugin(
        &self,
        token: &str,
        instance: &str,
        body: Value,
    ) -> (u16, Value) {
        let pid = self.b("project_id");
        let path = format!("/v3/{pid}/instances/{instance}/kernel-plugin");
        self.call(token, "POST", &path, Some(body)).await
    }

    /// Follow a GaussDB job (`ShowJobDetail`) until it is no longer Running (30 s at most);
    /// the job.
    pub async fn wait_gaussdb_job(&self, token: &str, job: &str) -> Value {
        let pid = self.b("project_id");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let path = format!("/v3/{pid}/jobs?id={job}");
            let (status, j) = self.call(token, "GET", &path, None).await;
            assert_eq!(status, 200, "{j}");
            if j["job"]["status"] != "Running" {
                return j["job"].clone();
            }
            assert!(Instant::now() < deadline, "job still running: {j}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
