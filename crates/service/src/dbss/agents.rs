//! Audit agents (docs/dbss-audit.md → Agents): added to a database (a new agent, or an
//! existing one attached: mode 1), listed per database with the capture state derived from
//! their heartbeats, switched on and off, detached; and the heartbeat itself, which tells the
//! agent whether to ship and what it serves.

use super::{check_database_id, check_id, Dbss, Error, Result};
use plugboard_core::ids;
use plugboard_core::time::{self, Micros};
use plugboard_store::dbss::AuditDatabase;
use plugboard_store::dbss_audit::{AddAgentError, Agent};
use plugboard_store::StoreError;

/// Agents one database may have.
pub const AGENTS_PER_DATABASE: i64 = 10;
/// How often the agent should send a heartbeat (told in every heartbeat answer).
pub const HEARTBEAT_INTERVAL_S: i64 = 5;
/// The most events one batch may carry.
pub const BATCH_MAX: usize = 1000;

/// AddAuditAgent's fields.
#[derive(Debug, Clone, Default)]
pub struct AddAgent {
    pub db_id: String,
    pub mode: i64,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub agent_os: Option<String>,
    pub agent_ip: Option<String>,
    pub agent_nic: Option<String>,
    pub cpu_threshold: Option<i64>,
    pub mem_threshold: Option<i64>,
}

/// An agent as listed for one database.
#[derive(Debug, Clone)]
pub struct AgentView {
    pub agent: Agent,
    /// The registry name of the database listed for.
    pub db_name: String,
    /// 1 running, 2 sleeping, 3 stopped, 4 abnormal.
    pub datacap_status: i64,
}

/// What an agent reports in a heartbeat.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub last_error: String,
    /// Milliseconds since the agent last had statements acknowledged, if it says.
    pub idle_ms: Option<i64>,
}

/// The heartbeat's answer: whether to ship, and the databases served.
#[derive(Debug, Clone)]
pub struct HeartbeatAnswer {
    pub status: i64,
    pub databases: Vec<AuditDatabase>,
    pub batch_max: usize,
    pub interval_s: i64,
    /// The agent's `cpu_threshold` and `mem_threshold` (%): above them it pauses reading.
    pub cpu_threshold: i64,
    pub mem_threshold: i64,
}

/// `datacap_status` of an agent at `now`: 3 switched off; 4 abnormal (no heartbeat for more
/// than `silence`, or it reports an error); 2 sleeping (it speaks, but has shipped no
/// statement for more than `sleep`); else 1 running.
pub fn datacap_status(a: &Agent, now: Micros, silence: Micros, sleep: Micros) -> i64 {
    if a.status == 0 {
        3
    } else if a.heartbeat_at == 0 || now - a.heartbeat_at > silence || !a.last_error.is_empty() {
        4
    } else if a.shipped_at != 0 && now - a.shipped_at > sleep {
        2
    } else {
        1
    }
}

fn threshold(field: &str, v: Option<i64>) -> Result<i64> {
    match v {
        None => Ok(80),
        Some(n) if (0..=100).contains(&n) => Ok(n),
        Some(n) => Err(Error::Invalid(format!(
            "{field} must be from 0 to 100 (got {n})"
        ))),
    }
}

impl Dbss {
    /// A database of the instance, by a body or query id (400 when malformed, 404 unknown).
    pub(crate) async fn database_of(
        &self,
        instance_id: &str,
        db_id: &str,
    ) -> Result<AuditDatabase> {
        check_database_id(db_id)?;
        match self.store.get_audit_database(instance_id, db_id).await {
            Ok(d) => Ok(d),
            Err(StoreError::NotFound) => Err(Error::DatabaseNotFound(db_id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// AddAuditAgent: a new agent for `db_id` (mode 0) or an existing one attached (mode 1).
    pub async fn add_agent(
        &self,
        project: &str,
        instance_id: &str,
        req: AddAgent,
    ) -> Result<String> {
        let inst = self.instance(project, instance_id).await?;
        if req.db_id.is_empty() {
            return Err(Error::Invalid("db_id is required".into()));
        }
        let db = self.database_of(&inst.id, &req.db_id).await?;
        let now = time::now_micros();
        match req.mode {
            1 => {
                let Some(agent_id) = req.agent_id.filter(|a| !a.is_empty()) else {
                    return Err(Error::Invalid("agent_id is required with mode 1".into()));
                };
                check_id("agent_id", &agent_id)?;
                return match self
                    .store
                    .attach_audit_agent(&inst.id, &agent_id, &db.id, AGENTS_PER_DATABASE, now)
                    .await
                {
                    Ok(()) => Ok(agent_id),
                    Err(AddAgentError::AgentNotFound) => Err(Error::Invalid(format!(
                        "agent_id: no agent {agent_id} in this audit instance"
                    ))),
                    Err(AddAgentError::LimitReached) => Err(Error::Invalid(format!(
                        "db_id: database {} has {AGENTS_PER_DATABASE} agents already",
                        db.id
                    ))),
                    Err(AddAgentError::Store(e)) => Err(e.into()),
                };
            }
            0 => {}
            m => return Err(Error::Invalid(format!("mode must be 0 or 1 (got {m})"))),
        }
        let agent_type = req.agent_type.unwrap_or_else(|| "DB".into());
        super::rules::one_of("agent_type", &agent_type, &["DB", "APP"])?;
        let agent_os = req.agent_os.unwrap_or_else(|| "LINUX64_X86".into());
        super::rules::one_of(
            "agent_os",
            &agent_os,
            &["LINUX64_X86", "LINUX64_ARM", "WINDOWS64"],
        )?;
        if agent_os == "WINDOWS64" {
            return Err(Error::Invalid(
                "agent_os: plugboard's agent runs on Linux only (LINUX64_X86, LINUX64_ARM)".into(),
            ));
        }
        let agent_ip = match req.agent_ip.filter(|ip| !ip.trim().is_empty()) {
            Some(ip) => super::rules::canonical_ip(ip.trim()).ok_or_else(|| {
                Error::Invalid(format!(
                    "agent_ip must be an IPv4 or IPv6 address (got `{ip}`)"
                ))
            })?,
            None if agent_type == "APP" => {
                return Err(Error::Invalid(
                    "agent_ip is required for an APP agent".into(),
                ))
            }
            None => db.ip.clone(),
        };
        let agent = Agent {
            id: ids::dbss_database_id(),
            instance_id: inst.id.clone(),
            agent_type,
            agent_os,
            agent_ip,
            agent_nic: req.agent_nic.unwrap_or_default(),
            cpu_threshold: threshold("cpu_threshold", req.cpu_threshold)?,
            mem_threshold: threshold("mem_threshold", req.mem_threshold)?,
            status: 1,
            heartbeat_at: 0,
            shipped_at: 0,
            last_error: String::new(),
            created_at: now,
            db_ids: vec![db.id.clone()],
        };
        match self
            .store
            .add_audit_agent(&agent, &db.id, AGENTS_PER_DATABASE)
            .await
        {
            Ok(()) => Ok(agent.id),
            Err(AddAgentError::LimitReached) => Err(Error::Invalid(format!(
                "db_id: database {} has {AGENTS_PER_DATABASE} agents already",
                db.id
            ))),
            Err(AddAgentError::AgentNotFound) => Err(Error::NotFound("agent".into())),
            Err(AddAgentError::Store(e)) => Err(e.into()),
        }
    }

    /// ListAuditAgent: the agents serving `db_id` (all the instance's when `None`).
    pub async fn list_agents(
        &self,
        project: &str,
        instance_id: &str,
        db_id: Option<&str>,
    ) -> Result<Vec<AgentView>> {
        let inst = self.instance(project, instance_id).await?;
        let db = match db_id.filter(|d| !d.is_empty()) {
            Some(d) => Some(self.database_of(&inst.id, d).await?),
            None => None,
        };
        let agents = self
            .store
            .list_audit_agents(&inst.id, db.as_ref().map(|d| d.id.as_str()))
            .await?;
        let now = time::now_micros();
        let mut out = Vec::with_capacity(agents.len());
        for a in agents {
            let db_name = match &db {
                Some(d) => d.name.clone(),
                None => match a.db_ids.first() {
                    Some(id) => self
                        .store
                        .get_audit_database(&inst.id, id)
                        .await
                        .map(|d| d.name)
                        .unwrap_or_default(),
                    None => String::new(),
                },
            };
            out.push(AgentView {
                datacap_status: datacap_status(&a, now, self.agent_silence(), self.agent_sleep()),
                db_name,
                agent: a,
            });
        }
        Ok(out)
    }

    /// An agent of the instance (404 when unknown).
    pub async fn agent(&self, project: &str, instance_id: &str, agent_id: &str) -> Result<Agent> {
        let inst = self.instance(project, instance_id).await?;
        check_id("agent_id", agent_id)?;
        match self.store.get_audit_agent(&inst.id, agent_id).await {
            Ok(a) => Ok(a),
            Err(StoreError::NotFound) => Err(Error::NotFound(format!(
                "The agent {agent_id} does not exist."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// DeleteAuditAgent: detach the agent from `db_id`; it goes when no database is left.
    pub async fn delete_agent(
        &self,
        project: &str,
        instance_id: &str,
        agent_id: &str,
        db_id: Option<&str>,
    ) -> Result<()> {
        let agent = self.agent(project, instance_id, agent_id).await?;
        let db_ids: Vec<String> = match db_id.filter(|d| !d.is_empty()) {
            Some(d) => {
                check_database_id(d)?;
                if !agent.db_ids.iter().any(|x| x == d) {
                    return Err(Error::NotFound(format!(
                        "The agent {agent_id} does not serve database {d}."
                    )));
                }
                vec![d.to_string()]
            }
            None => agent.db_ids.clone(),
        };
        for d in db_ids {
            match self
                .store
                .detach_audit_agent(&agent.instance_id, &agent.id, &d)
                .await
            {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// SwitchAgent: 1 on, 0 off.
    pub async fn switch_agent(
        &self,
        project: &str,
        instance_id: &str,
        agent_id: &str,
        status: i64,
    ) -> Result<()> {
        if status != 0 && status != 1 {
            return Err(Error::Invalid(format!(
                "status must be 1 or 0 (got {status})"
            )));
        }
        let agent = self.agent(project, instance_id, agent_id).await?;
        match self
            .store
            .switch_audit_agent(&agent.instance_id, &agent.id, status)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(Error::NotFound(format!(
                "The agent {agent_id} does not exist."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// CreateAuditDbAgent: set a known agent's thresholds.
    pub async fn set_agent_thresholds(
        &self,
        project: &str,
        instance_id: &str,
        agent_id: &str,
        cpu: Option<i64>,
        mem: Option<i64>,
    ) -> Result<()> {
        let agent = self.agent(project, instance_id, agent_id).await?;
        let cpu = threshold("cpu_threshold", cpu.or(Some(agent.cpu_threshold)))?;
        let mem = threshold("mem_threshold", mem.or(Some(agent.mem_threshold)))?;
        self.store
            .set_audit_agent_thresholds(&agent.instance_id, &agent.id, cpu, mem)
            .await?;
        Ok(())
    }

    /// The agent behind an agent endpoint: it must exist in the instance and serve a database
    /// (else the refusal says why). Whether it is on is the caller's to decide.
    pub(crate) async fn calling_agent(
        &self,
        project: &str,
        instance_id: &str,
        agent_id: &str,
    ) -> Result<Agent> {
        let inst = self.instance(project, instance_id).await?;
        check_id("agent_id", agent_id)?;
        let agent = match self.store.get_audit_agent(&inst.id, agent_id).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => {
                return Err(Error::Refused(format!(
                    "agent {agent_id} is not an agent of audit instance {}",
                    inst.id
                )))
            }
            Err(e) => return Err(e.into()),
        };
        if agent.db_ids.is_empty() {
            return Err(Error::Refused(format!(
                "agent {agent_id} serves no database"
            )));
        }
        Ok(agent)
    }

    /// An agent's heartbeat: recorded; the answer says whether to ship and what it serves.
    pub async fn heartbeat(
        &self,
        project: &str,
        instance_id: &str,
        agent_id: &str,
        hb: Heartbeat,
    ) -> Result<HeartbeatAnswer> {
        let agent = self.calling_agent(project, instance_id, agent_id).await?;
        let last_error: String = hb.last_error.chars().take(1024).collect();
        let now = time::now_micros();
        // When the agent last shipped statements, by this clock (its own clock is not used).
        let shipped_at = hb
            .idle_ms
            .filter(|ms| *ms >= 0)
            .map(|ms| (now - ms.saturating_mul(1000)).max(1));
        self.store
            .audit_agent_heartbeat(&agent.id, now, &last_error, shipped_at)
            .await?;
        // The agent speaks again: its RISK_AGENT alarm (if open) closes.
        self.store
            .close_audit_agent_alarm(&agent.instance_id, &agent.id, now)
            .await?;
        let mut databases = Vec::new();
        for id in &agent.db_ids {
            if let Ok(d) = self.store.get_audit_database(&agent.instance_id, id).await {
                databases.push(d);
            }
        }
        Ok(HeartbeatAnswer {
            status: agent.status,
            databases,
            batch_max: BATCH_MAX,
            interval_s: HEARTBEAT_INTERVAL_S,
            cpu_threshold: agent.cpu_threshold,
            mem_threshold: agent.mem_threshold,
        })
    }
}
