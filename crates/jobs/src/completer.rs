//! The completer: writes the ends of jobs in group commits (one transaction for every end
//! waiting), each fenced by its lease and committed with its effects.

use crate::Shared;
use plugboard_store::jobs::JobEnd;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// Transactions writing the ends of jobs at once (see `finisher`).
const FINISHING_AT_ONCE: usize = 2;

/// A job's end on its way to the store, and who waits for the answer.
pub(crate) struct Finish {
    pub(crate) end: JobEnd,
    pub(crate) ended: oneshot::Sender<bool>,
}

/// Writes the ends of jobs, as many as are waiting in one transaction: while the commits under
/// way (at most [`FINISHING_AT_ONCE`]) are busy, the next jobs to end queue up and share the
/// next commit (a group commit), so a busy engine pays one commit for many jobs and an idle
/// one waits for nothing.
pub(crate) async fn finisher(shared: Arc<Shared>, mut finishing: mpsc::UnboundedReceiver<Finish>) {
    const MOST: usize = 256;
    let at_once = Arc::new(Semaphore::new(FINISHING_AT_ONCE));
    let mut commits = JoinSet::new();
    while let Some(first) = finishing.recv().await {
        let Ok(turn) = at_once.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MOST {
            match finishing.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        while commits.try_join_next().is_some() {}
        commits.spawn(finish_batch(shared.clone(), batch, turn));
    }
}

/// One group commit of [`finisher`].
async fn finish_batch(shared: Arc<Shared>, batch: Vec<Finish>, _turn: OwnedSemaphorePermit) {
    let (ends, waiting): (Vec<JobEnd>, Vec<oneshot::Sender<bool>>) =
        batch.into_iter().map(|f| (f.end, f.ended)).unzip();
    let answers = match shared.store.finish_jobs(&shared.owner, &ends).await {
        Ok(answers) => answers,
        Err(e) if ends.len() > 1 => {
            // One job's end may be what failed: end the others one by one.
            tracing::warn!(error = %e, jobs = ends.len(), "ending jobs together failed; one at a time");
            let mut answers = Vec::with_capacity(ends.len());
            for end in &ends {
                answers.push(finish_alone(&shared, end).await);
            }
            answers
        }
        Err(e) => {
            tracing::warn!(job_id = %ends[0].id, error = %e, "ending a job failed; it resumes when its lease expires");
            vec![false]
        }
    };
    for (waiter, ended) in waiting.into_iter().zip(answers) {
        waiter.send(ended).ok();
    }
}

async fn finish_alone(shared: &Shared, end: &JobEnd) -> bool {
    match shared.store.finish_job(&shared.owner, end).await {
        Ok(ended) => ended,
        Err(e) => {
            tracing::warn!(job_id = %end.id, error = %e, "ending a job failed; it resumes when its lease expires");
            false
        }
    }
}

/// End a job through the finisher; `true` when it ended here (the lease was still held).
pub(crate) async fn finish(shared: &Shared, end: JobEnd) -> bool {
    let (ended, answer) = oneshot::channel();
    if shared.finish.send(Finish { end, ended }).is_err() {
        return false;
    }
    answer.await.unwrap_or(false)
}
