//! `mail2sms-admin` as the operator runs it: the real binary against the emulator.

mod common;

use std::process::{Command, Output};

use common::World;
use mail2sms::pipeline::Outcome;
use serde_json::Value;

fn admin(world: &World, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mail2sms-admin"))
        .args(args)
        .env("ACCOUNTS_TABLE", &world.config.accounts_table)
        .env("MESSAGES_TABLE", &world.config.messages_table)
        .env("INBOUND_BUCKET", &world.config.inbound_bucket)
        .env("REPLY_FROM", &world.config.reply_from)
        .env("SCHEDULE_GROUP", &world.config.schedule_group)
        .output()
        .expect("mail2sms-admin runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn show(world: &World, login: &str) -> Value {
    serde_json::from_str(&stdout(&admin(world, &["account", "show", login]))).unwrap()
}

#[tokio::test]
async fn accounts_are_created_shown_suspended_resumed_and_credited() {
    let world = World::new().await;

    let key = stdout(&admin(
        &world,
        &["account", "create", "boutique", "--credits", "5", "--sender", "BOUTIQUE", "--timezone", "Europe/Paris"],
    ));
    let key = key.trim();
    assert!(key.len() >= 32 && key.chars().all(|c| c.is_ascii_hexdigit()), "the key alone on stdout: {key:?}");
    let account = show(&world, "boutique");
    assert_eq!(account["login"], "boutique");
    assert_eq!(account["credits"], 5, "credits are a number");
    assert_eq!(account["sender"], "BOUTIQUE");
    assert_eq!(account["timezone"], "Europe/Paris");
    assert_eq!(account["suspended"], false);
    assert!(!account.to_string().contains(key), "show never prints the key");

    assert!(stdout(&admin(&world, &["credits", "add", "boutique", "7"])).contains("12"));
    assert_eq!(show(&world, "boutique")["credits"], 12);
    stdout(&admin(&world, &["account", "suspend", "boutique"]));
    assert_eq!(show(&world, "boutique")["suspended"], true);
    stdout(&admin(&world, &["account", "resume", "boutique"]));
    assert_eq!(show(&world, "boutique")["suspended"], false);
}

#[tokio::test]
async fn mistakes_are_refused_on_stderr_with_a_failure_status() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique"]));
    for args in [
        &["account", "create", "boutique"][..],
        &["account", "show", "nobody"],
        &["credits", "add", "nobody", "3"],
        &["account", "create", "x", "--sender", "1BAD"],
        &["account", "create", "y", "--timezone", "Mars/Olympus"],
        &["cancel", "no-such-message"],
    ] {
        let output = admin(&world, args);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(output.stdout.is_empty(), "{args:?} printed on stdout");
        assert!(!output.stderr.is_empty(), "{args:?} said nothing on stderr");
    }
}

#[tokio::test]
async fn a_rotated_key_replaces_the_old_one_at_once() {
    let world = World::new().await;
    let old = stdout(&admin(&world, &["account", "create", "boutique", "--credits", "5"])).trim().to_owned();
    let new = stdout(&admin(&world, &["account", "rotate-key", "boutique"])).trim().to_owned();
    assert_ne!(old, new);
    let gateway = world.gateway();
    for (key, expected_sent) in [(&old, false), (&new, true)] {
        let raw = world.email(&format!("boutique@{key}|0612345678"), &world.token);
        let id = world.receive(&raw).await;
        let outcome = gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap().remove(0);
        assert_eq!(matches!(outcome, Outcome::Sent { .. }), expected_sent, "{outcome:?}");
    }
}

#[tokio::test]
async fn messages_are_listed_newest_first_and_a_scheduled_one_can_be_cancelled_once() {
    let world = World::new().await;
    let key = stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"])).trim().to_owned();
    let gateway = world.gateway();
    let due = (chrono::Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d 09:30:00");
    let mut ids = Vec::new();
    for subject in [format!("boutique@{key}|0612345678"), format!("boutique@{key}|0612345678;0698765432|date={due}")] {
        let id = world.receive(&world.email(&subject, "Texte confidentiel")).await;
        gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap();
        ids.push(id);
    }

    let listing = stdout(&admin(&world, &["messages", "boutique", "--limit", "10"]));
    let lines: Vec<Value> = listing.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["message_id"], ids[1].as_str(), "newest first");
    assert_eq!(lines[0]["state"], "scheduled");
    assert!(lines[0]["due_at"].is_string());
    assert_eq!(lines[0]["cost"], 2);
    assert_eq!(lines[1]["state"], "sent");
    assert_eq!(lines[1]["recipients"][0]["delivery"], "sent");
    assert!(!listing.contains("confidentiel"), "the listing does not show SMS texts");
    assert_eq!(show(&world, "boutique")["credits"], 7);

    assert!(stdout(&admin(&world, &["cancel", &ids[1]])).contains("cancelled"));
    assert!(stdout(&admin(&world, &["cancel", &ids[1]])).contains("already cancelled"));
    assert_eq!(show(&world, "boutique")["credits"], 9, "refunded once");
    let failed = admin(&world, &["cancel", &ids[0]]);
    assert!(!failed.status.success(), "a sent message cannot be cancelled");
}
