//! End-to-end tests: the real components, built by the project's build
//! script, driven by the real host.

mod anthropic;
mod cli;
mod fidelity;
mod components;
mod intelligence;
mod orchestration;
mod fuzz;
mod sandbox;
mod serve;
