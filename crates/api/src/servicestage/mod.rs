//! ServiceStage (`spec/servicestage.md`): no operations yet; its error envelope is here so
//! the family's descriptor is complete before its routes arrive.

pub mod error;
