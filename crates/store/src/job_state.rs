//! The states of a stored job and their one spelling.

/// The state of a stored job, the same for every family; each family's view maps it to its
/// vendor's words. A job is queued until first claimed, running until it ends.
/// [`JobState::as_str`] is the one place their stored spelling is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    Queued,
    Running,
    Completed,
    Failed,
}

impl JobState {
    /// Every state, active ones first.
    pub const ALL: [JobState; 4] = [Self::Queued, Self::Running, Self::Completed, Self::Failed];

    /// The state as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// The state stored as `s` (`None`: not a state).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Whether a job in this state has not ended.
    pub const fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
