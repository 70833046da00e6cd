#![allow(dead_code)]
mod fake;
mod fake_selftest;
mod fixtures;
mod schema;
