//! hearthd: the home-hub daemon. The binary's entry points live in `cli`; `daemon` wires
//! the tasks; the rules live in the `hearth-*` crates (see ARCHITECTURE.md).

pub mod cli;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod daemon;
pub mod house;
pub mod ledger;
pub(crate) mod link;
pub mod logging;
pub mod mqtt;
pub mod offload;
pub mod persist;
pub mod policy_requests;
pub mod record;
pub mod shutdown;
pub mod summary;
pub mod systemd;
pub(crate) mod tripwire;
pub mod web;
