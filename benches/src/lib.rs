//! Head-to-head benchmarks of the umcg runtime against tokio, and the futex floor.
//!
//! The crate is shared by the criterion benches in `benches/` and by the `report` binary: each
//! workload lives here once, generic over [`rt::Rt`], so both runtimes run the same code with
//! the same parameters. The `umcg` feature adds the umcg side; without it the tokio side and the
//! floor still build and run.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod config;
pub mod criterion_io;
pub mod floor;
pub mod machine;
pub mod measure;
pub mod procfs;
pub mod report;
pub mod rt;
mod side_by_side;
pub mod stats;
pub mod workloads;
