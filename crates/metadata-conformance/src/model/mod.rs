//! The model check: random operation sequences from both surfaces, applied to a pure reference
//! model and to a store through [`MetadataService`](metadata_store::MetadataService), compared after every step.
//!
//! The reference keeps records in a `BTreeMap`, makes every commit atomic by working on a copy,
//! and calls the core's pure functions directly: it shares the rules, not the facade or the
//! storage code it checks.

//!
//! - `ops`: the operations and their generators, and the decoding of fuzz input into them;
//! - `reference`: the pure reference model;
//! - `check`: applying operations to a service, comparing it with the model, and the runners.

mod check;
mod ops;
mod reference;

pub use check::*;
pub use ops::*;
pub use reference::*;
