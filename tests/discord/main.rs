mod bot;
mod fake;
mod fake_selftest;
mod fixtures;
mod schema;
