//! The agent's download (DownloadAuditAgent, docs/dbss-audit.md → The agent): a `tar.gz` with
//! the agent's `agent.toml` (every key but the access keys, which the operator supplies on the
//! host: no secret is ever in it), a systemd unit and a README. Built the same way every time
//! (fixed times and modes), so its SHA-256 — listed with the agent — is stable.

use super::{Dbss, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use plugboard_store::dbss::AuditDatabase;
use plugboard_store::dbss_audit::Agent;
use sha2::{Digest, Sha256};

/// The source kind and a usual log path for a database type.
fn source_for(db: &AuditDatabase) -> (&'static str, &'static str) {
    match db.db_type.as_str() {
        "MYSQL" | "TAURUS" | "GBASE8A" => {
            ("mariadb-server-audit", "/var/log/mysql/server_audit.log")
        }
        _ => ("pgaudit-jsonlog", "/var/lib/postgresql/15/main/log"),
    }
}

fn toml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// `agent.toml` for `agent` reaching plugboard at `endpoint`.
pub fn agent_toml(
    endpoint: &str,
    project_id: &str,
    agent: &Agent,
    dbs: &[AuditDatabase],
) -> String {
    let mut t = format!(
        "# plugboard dbss-agent config (docs/dbss-audit.md). No secret is in this file: set\n\
         # access_key / secret_key below, or PLUGBOARD_AK / PLUGBOARD_SK in the environment.\n\
         endpoint    = {}\nproject_id  = {}\ninstance_id = {}\nagent_id    = {}\n\
         # access_key = \"...\"\n# secret_key = \"...\"\n\
         state_dir   = \"/var/lib/plugboard-dbss-agent\"\n\
         # ca_file   = \"/etc/plugboard/ca.pem\"   # an HTTPS endpoint signed by a private CA\n",
        toml_str(endpoint),
        toml_str(project_id),
        toml_str(&agent.instance_id),
        toml_str(&agent.id),
    );
    for db in dbs {
        let (kind, path) = source_for(db);
        t.push_str(&format!(
            "\n# {} ({} {}:{}): point `path` at its audit log\n[[source]]\ndb_id = {}\nkind  = {}\npath  = {}\n",
            db.name,
            db.db_type,
            db.ip,
            db.port,
            toml_str(&db.id),
            toml_str(kind),
            toml_str(path),
        ));
    }
    t
}

const UNIT: &str = "[Unit]\nDescription=plugboard DBSS audit agent\nAfter=network-online.target\nWants=network-online.target\n\n\
[Service]\nExecStart=/usr/local/bin/plugboard dbss-agent --config /etc/plugboard/dbss-agent.toml\n\
EnvironmentFile=-/etc/plugboard/dbss-agent.env\nRestart=always\nRestartSec=5\n\
StateDirectory=plugboard-dbss-agent\n# Run as a user that can read the audit log (the postgres / mysql group).\nUser=postgres\n\
# The database comes first: the agent runs only on CPU time the database leaves (SCHED_IDLE)\n\
# and reads at idle I/O priority. Its log is the spool: a busy hour only delays shipping, and\n\
# the agent catches up when the database is quieter (docs/dbss-audit.md).\n\
CPUSchedulingPolicy=idle\nNice=19\nCPUWeight=1\nIOSchedulingClass=idle\n\n\
[Install]\nWantedBy=multi-user.target\n";

const README: &str = "plugboard DBSS audit agent\n==========================\n\n\
1. Install the plugboard binary on the database host (/usr/local/bin/plugboard).\n\
2. Copy agent.toml to /etc/plugboard/dbss-agent.toml and check each [[source]] path.\n\
3. Put the access keys in /etc/plugboard/dbss-agent.env (mode 0600):\n     PLUGBOARD_AK=...\n     PLUGBOARD_SK=...\n\
4. Copy plugboard-dbss-agent.service to /etc/systemd/system/, set User= to a user that can\n   read the audit log, then: systemctl daemon-reload && systemctl enable --now plugboard-dbss-agent\n\n\
Capture set-up (pgaudit, server_audit) and what the agent guarantees: docs/dbss-audit.md.\n";

fn add(tar: &mut tar::Builder<GzEncoder<Vec<u8>>>, path: &str, body: &str) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    tar.append_data(&mut h, path, body.as_bytes())
}

/// The bundle's bytes.
pub fn build(
    endpoint: &str,
    project_id: &str,
    agent: &Agent,
    dbs: &[AuditDatabase],
) -> std::io::Result<Vec<u8>> {
    let dir = format!("plugboard-dbss-agent-{}", agent.id);
    let gz = GzEncoder::new(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    add(
        &mut tar,
        &format!("{dir}/agent.toml"),
        &agent_toml(endpoint, project_id, agent, dbs),
    )?;
    add(
        &mut tar,
        &format!("{dir}/plugboard-dbss-agent.service"),
        UNIT,
    )?;
    add(&mut tar, &format!("{dir}/README"), README)?;
    tar.into_inner()?.finish()
}

/// The bundle's SHA-256, hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Dbss {
    /// DownloadAuditAgent: the agent's bundle.
    pub async fn agent_bundle(
        &self,
        project: &str,
        instance_id: &str,
        agent_id: &str,
        endpoint: &str,
    ) -> Result<Vec<u8>> {
        let agent = self.agent(project, instance_id, agent_id).await?;
        let mut dbs = Vec::new();
        for id in &agent.db_ids {
            if let Ok(d) = self.store.get_audit_database(&agent.instance_id, id).await {
                dbs.push(d);
            }
        }
        build(endpoint, project, &agent, &dbs)
            .map_err(|e| super::Error::Invalid(format!("cannot build the bundle: {e}")))
    }

    /// The SHA-256 of an agent's bundle, for the agent list.
    pub async fn agent_bundle_sha256(
        &self,
        project: &str,
        agent: &Agent,
        endpoint: &str,
    ) -> String {
        let mut dbs = Vec::new();
        for id in &agent.db_ids {
            if let Ok(d) = self.store.get_audit_database(&agent.instance_id, id).await {
                dbs.push(d);
            }
        }
        build(endpoint, project, agent, &dbs)
            .map(|b| sha256(&b))
            .unwrap_or_default()
    }
}
