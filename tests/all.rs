//! Every integration test, in one binary: `cargo test --test all MODULE::` runs one file's
//! tests (for example `cargo test --test all qlog::`).

mod support;

mod check;
mod config;
mod corpus;
mod discord;
mod fuzz;
mod hostile_input;
mod knowledge_facts;
mod local_faq;
mod logging;
mod model;
mod qlog;
mod qlog_cli;
mod quality;
mod store;
