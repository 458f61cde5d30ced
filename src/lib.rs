//! hearthd: the home-hub daemon. The binary's entry points live in `cli`; `daemon` wires
//! the tasks; the rules live in the `hearth-*` crates (see ARCHITECTURE.md).

pub mod cli;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod daemon;
pub mod house;
pub mod ledger;
mod link;
mod logging;
pub mod mqtt;
mod offload;
mod persist;
mod policy_requests;
mod read_socket;
mod record;
pub mod shutdown;
mod summary;
mod systemd;
mod tripwire;
pub mod web;
