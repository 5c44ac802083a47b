//! The integration tests, one binary: every module below links the library and the SDK clients
//! once, and shares `helpers` (the emulator's worlds, the fault proxy, the function behind a local
//! Lambda Runtime API). Run through `make test`, which starts the emulator (`scripts/with-moto.sh`).
//!
//! One process runs every test, two or more at a time: a test owns what it creates in the
//! emulator (its `World`), never the process (no global tracing subscriber, no environment
//! variable set, no current directory changed).

mod helpers;

mod admin;
mod delivery;
mod end_user_messaging;
mod fan_out;
mod hostile;
mod hours;
mod lists;
mod logs;
mod optout;
mod pipeline;
mod preview;
mod promises;
mod recovery;
mod samples;
mod scheduling;
mod template;
mod trust;
mod two_way;
mod web;
