mod bot;
mod fake;
mod fake_selftest;
mod fixtures;
#[path = "../support/postgres.rs"]
mod postgres;
mod schema;
