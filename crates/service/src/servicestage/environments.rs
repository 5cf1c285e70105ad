//! ServiceStage environments: created, listed (paged, ordered, filtered), read, modified,
//! deleted, and their bound resources replaced — each rule checked before anything is stored.

use super::*;

/// An environment to create, as the caller gave it.
#[derive(Debug, Clone, Default)]
pub struct CreateEnvironment {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enterprise_project_id: Option<String>,
    pub vpc_id: Option<String>,
    pub deploy_mode: Option<String>,
    pub labels: Option<Vec<Label>>,
}

/// How environments are listed (query values as they came).
#[derive(Debug, Clone, Default)]
pub struct ListEnvironments {
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub order_by: Option<String>,
    pub order: Option<String>,
    pub name: Option<String>,
    pub environment_id: Option<String>,
    pub enterprise_project_id: Option<String>,
}

impl ServiceStage {
    /// `create_environment`: `creator` is the caller's user name.
    pub async fn create_environment(
        &self,
        project: &str,
        creator: &str,
        req: CreateEnvironment,
    ) -> Result<Environment> {
        let name = rules::required("name", req.name.as_deref())?.to_string();
        rules::environment_name(&name)?;
        let vpc_id = rules::required("vpc_id", req.vpc_id.as_deref())?.to_string();
        rules::id_field("vpc_id", &vpc_id)?;
        let description = req.description.unwrap_or_default();
        rules::description(&description)?;
        let enterprise_project_id = req
            .enterprise_project_id
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "0".into());
        rules::id_field("enterprise_project_id", &enterprise_project_id)?;
        let deploy_mode = req.deploy_mode.unwrap_or_else(|| "mixed".into());
        rules::one_of("deploy_mode", &deploy_mode, rules::DEPLOY_MODES)?;
        let labels = req.labels.unwrap_or_default();
        rules::labels(&labels)?;
        let now = now_micros();
        let env = Environment {
            id: ids::uuid(),
            project_id: project.to_string(),
            name: name.clone(),
            description,
            enterprise_project_id,
            vpc_id,
            creator: creator.to_string(),
            deploy_mode,
            labels,
            resources: vec![],
            created_at: now,
            updated_at: now,
        };
        match self.store.create_environment(&env).await {
            Ok(()) => Ok(env),
            Err(StoreError::Conflict(_)) => Err(Error::NameTaken(name)),
            Err(e) => Err(e.into()),
        }
    }

    /// `show_environments`: a page and the total that match.
    pub async fn list_environments(
        &self,
        project: &str,
        q: &ListEnvironments,
    ) -> Result<(Vec<Environment>, i64)> {
        let limit = parse_int("limit", q.limit.as_deref(), 100)?.filter(|l| *l > 0);
        let offset = parse_int("offset", q.offset.as_deref(), i64::from(i32::MAX))?.unwrap_or(0);
        let order = match q.order_by.as_deref().filter(|o| !o.is_empty()) {
            None | Some("create_time") => EnvironmentOrder::CreateTime,
            Some("name") => EnvironmentOrder::Name,
            Some("update_time") => EnvironmentOrder::UpdateTime,
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "order_by must be one of create_time, name, update_time (got `{other}`)"
                )))
            }
        };
        let ascending = match q.order.as_deref().filter(|o| !o.is_empty()) {
            None | Some("desc") => false,
            Some("asc") => true,
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "order must be one of desc, asc (got `{other}`)"
                )))
            }
        };
        let nonempty = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let filter = EnvironmentFilter {
            name: nonempty(&q.name),
            id: nonempty(&q.environment_id),
            enterprise_project_id: nonempty(&q.enterprise_project_id),
        };
        Ok(self
            .store
            .list_environments(
                project,
                &filter,
                order,
                ascending,
                offset,
                Some(limit.unwrap_or(UNPAGED_MAX)),
            )
            .await?)
    }

    /// `show_environment_info`.
    pub async fn environment(&self, project: &str, id: &str) -> Result<Environment> {
        if !ids::is_uuid(id) {
            return Err(Error::EnvironmentNotFound(id.to_string()));
        }
        match self.store.get_environment(project, id).await {
            Ok(e) => Ok(e),
            Err(StoreError::NotFound) => Err(Error::EnvironmentNotFound(id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// `modify_environment`: `None` leaves a field; `description: ""` and `labels: []` clear.
    pub async fn modify_environment(
        &self,
        project: &str,
        id: &str,
        change: EnvironmentChange,
    ) -> Result<Environment> {
        self.environment(project, id).await?;
        if let Some(name) = &change.name {
            rules::environment_name(name)?;
        }
        if let Some(d) = &change.description {
            rules::description(d)?;
        }
        if let Some(l) = &change.labels {
            rules::labels(l)?;
        }
        match self
            .store
            .update_environment(project, id, &change, now_micros())
            .await
        {
            Ok(e) => Ok(e),
            Err(StoreError::NotFound) => Err(Error::EnvironmentNotFound(id.to_string())),
            Err(StoreError::Conflict(_)) => Err(Error::NameTaken(change.name.unwrap_or_default())),
            Err(e) => Err(e.into()),
        }
    }

    /// `delete_environment`: refused while add-ons are installed in it.
    pub async fn delete_environment(&self, project: &str, id: &str) -> Result<()> {
        if !ids::is_uuid(id) {
            return Err(Error::EnvironmentNotFound(id.to_string()));
        }
        match self.store.delete_environment(project, id).await {
            Ok(()) => Ok(()),
            Err(DeleteEnvironmentError::NotFound) => {
                Err(Error::EnvironmentNotFound(id.to_string()))
            }
            Err(DeleteEnvironmentError::HasAddons(n)) => Err(Error::Invalid(format!(
                "environment {id} still has {n} add-on(s); uninstall them first"
            ))),
            Err(DeleteEnvironmentError::Store(e)) => Err(e.into()),
        }
    }

    /// `modify_resource_in_environment`: the whole list is replaced.
    pub async fn modify_resources(
        &self,
        project: &str,
        id: &str,
        resources: Vec<EnvResource>,
    ) -> Result<Environment> {
        self.environment(project, id).await?;
        rules::resources(&resources)?;
        match self
            .store
            .set_environment_resources(project, id, &resources, now_micros())
            .await
        {
            Ok(e) => Ok(e),
            Err(StoreError::NotFound) => Err(Error::EnvironmentNotFound(id.to_string())),
            Err(e) => Err(e.into()),
        }
    }
}
