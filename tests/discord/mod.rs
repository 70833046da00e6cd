//! The bot against the fake Discord: every request it sends is checked against Discord's
//! OpenAPI description.

mod bot;
mod deployed;
mod fake;
mod fake_selftest;
mod fixtures;
mod schema;
mod served;

use crate::support::postgres;
