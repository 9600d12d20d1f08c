//! End-to-end tests: the real components, built by the project's build
//! script, driven by the real host.

mod anthropic;
mod cli;
mod components;
pub mod concurrency;
mod console;
mod durable;
mod embedding;
mod fidelity;
mod fuzz;
mod harness;
mod intelligence;
mod openai;
mod orchestration;
mod replicas;
mod sandbox;
mod serve;
