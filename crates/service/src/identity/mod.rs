//! Identity, the domain (`spec/iam.md`): the rules for projects, users, groups and keys.

pub mod rules;
