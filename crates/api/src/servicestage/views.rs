//! ServiceStage views: the service's environments, add-ons and add-on jobs turned into the
//! vendor's reply shapes (v3 lower-case keys, v2 upper-case inner keys, task states and times).

use super::dto::*;
use plugboard_core::time;
use plugboard_service::servicestage::AddonJobView;
use plugboard_store::jobs::{self, JobStep};
use plugboard_store::servicestage::{Addon, EnvResource, Environment, Label};

pub(super) fn labels_in(labels: Option<Vec<EnvironmentLabel>>) -> Option<Vec<Label>> {
    labels.map(|ls| {
        ls.into_iter()
            .map(|l| Label {
                key: l.key,
                value: l.value,
            })
            .collect()
    })
}

pub(super) fn resource_view(r: &EnvResource) -> Resource {
    Resource {
        id: r.id.clone(),
        name: r.name.clone(),
        kind: r.kind.clone(),
    }
}

/// An environment's view; `with_resources` on show and modify.
pub(super) fn environment_view(e: &Environment, with_resources: bool) -> EnvironmentView {
    EnvironmentView {
        id: e.id.clone(),
        project_id: e.project_id.clone(),
        name: e.name.clone(),
        description: e.description.clone(),
        enterprise_project_id: e.enterprise_project_id.clone(),
        vpc_id: e.vpc_id.clone(),
        creator: e.creator.clone(),
        create_time: time::millis(e.created_at),
        update_time: time::millis(e.updated_at),
        deploy_mode: e.deploy_mode.clone(),
        resources: with_resources.then(|| e.resources.iter().map(resource_view).collect()),
        labels: e
            .labels
            .iter()
            .map(|l| EnvironmentLabel {
                key: l.key.clone(),
                value: l.value.clone(),
            })
            .collect(),
    }
}

pub(super) fn addon_view(a: &Addon) -> AddonView {
    AddonView {
        id: a.id.clone(),
        name: a.name.clone(),
        version: a.version.clone(),
        cce_id: a.cce_id.clone(),
        cse_id: a.cse_id.clone(),
        job_id: a.job_id.clone(),
        environment_id: a.environment_id.clone(),
        status: a.status.clone(),
    }
}

/// The vendor's word for a job's state.
pub(super) fn execution_status(status: &str) -> &'static str {
    match status {
        jobs::QUEUED => "SUBMITTED",
        jobs::RUNNING => "RUNNING",
        jobs::COMPLETED => "SUCCEEDED",
        jobs::FAILED => "FAILED",
        _ => "UNKNOWN",
    }
}

/// The vendor's word for a task's state: the steps after a failed one were skipped.
pub(super) fn task_status(step: &JobStep, job_failed: bool) -> &'static str {
    match step.status.as_str() {
        "done" => "SUCCEEDED",
        "failed" => "FAILED",
        "running" if job_failed => "FAILED",
        "running" => "RUNNING",
        _ if job_failed => "SKIPPED",
        _ => "SUBMITTED",
    }
}

/// A task's time: when its step started (the job's creation before that), and when it last
/// changed.
pub(super) fn task_times(v: &AddonJobView, step: &JobStep) -> (String, String) {
    let created = if step.started_at > 0 {
        step.started_at
    } else {
        v.job.created_at
    };
    let updated = step.ended_at.max(step.started_at).max(created);
    (time::gaussdb_job(created), time::gaussdb_job(updated))
}

pub(super) fn task_id(job_id: &str, index: usize) -> String {
    format!("{job_id}-{index}")
}

pub(super) fn job_info_response(v: &AddonJobView) -> ShowJobInfoResponse {
    let failed = v.job.status == jobs::FAILED;
    ShowJobInfoResponse {
        task_count: v.job.steps.len() as i64,
        job: JobInfo {
            execution_status: execution_status(&v.job.status).into(),
            job_id: v.job.id.clone(),
            job_type: v.input.action.job_type().into(),
            rollback_enabled: false,
            project_id: v.job.project_id.clone(),
            order_id: String::new(),
            service_instance_id: v.input.addon_id.clone(),
        },
        tasks: v
            .tasks
            .iter()
            .map(|(i, step)| {
                let (created_at, update_at) = task_times(v, step);
                TaskInfo {
                    task_id: task_id(&v.job.id, *i),
                    task_name: step.name.clone(),
                    task_status: task_status(step, failed).into(),
                    task_type: v.input.action.as_str().into(),
                    task_index: *i as i64,
                    messages: step.message.clone(),
                    created_at,
                    update_at,
                }
            })
            .collect(),
    }
}

pub(super) fn job_detail_v2_response(v: &AddonJobView) -> ShowJobDetailV2Response {
    let failed = v.job.status == jobs::FAILED;
    ShowJobDetailV2Response {
        task_count: v.job.steps.len() as i64,
        job: JobInfoV2 {
            created_by: v.input.created_by.clone(),
            execution_status: execution_status(&v.job.status).into(),
            job_desc: format!("{} add-on {}", v.input.action.as_str(), v.job.target_name),
            job_id: v.job.id.clone(),
            job_name: v.input.action.as_str().into(),
            job_type: v.input.action.job_type().into(),
            order_id: String::new(),
            project_id: v.job.project_id.clone(),
            service_instance_id: v.input.addon_id.clone(),
        },
        tasks: v
            .tasks
            .iter()
            .map(|(i, step)| {
                let (created_at, updated_at) = task_times(v, step);
                TaskInfoV2 {
                    created_at,
                    last_health_check: updated_at,
                    messages: step.message.clone(),
                    owner_id: v.job.id.clone(),
                    task_id: task_id(&v.job.id, *i),
                    task_index: *i as i64,
                    task_name: step.name.clone(),
                    task_status: task_status(step, failed).into(),
                    task_type: v.input.action.as_str().into(),
                }
            })
            .collect(),
    }
}
