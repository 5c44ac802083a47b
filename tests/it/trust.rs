//! Who may send, and who gets answered (issue #9), through the real gateway against the
//! emulator: emails stored as SES stores them (its Return-Path and Received above what it wrote
//! of SPF, DKIM and DMARC), SES events whose verdicts say the same, and accounts set up with
//! `mail2sms-admin`.
//!
//! Every test names its own domains after its world's token: `<token>.example` is the customer's
//! (`example` is no known top-level domain, so each `<token>.example` is an organizational
//! domain of its own), `<token>-attacker.example` and `<token>-victim.example` are strangers'.

use mail2sms::domain::StatusCode;
use mail2sms::domain::message::{Discard, MessageState, ReplyOutcome};
use mail2sms::pipeline::Outcome;
use serde_json::{Value, json};

use crate::helpers::{World, admin, stdout};

/// What SES's checks found, as it writes them in the stored message and says them in its event.
struct Checks<'a> {
    /// The envelope sender (MAIL FROM), written in the Return-Path and SPF's `envelope-from`.
    envelope: &'a str,
    /// SES's Authentication-Results, after its authserv-id.
    results: String,
    /// The SES event's verdicts: SPF, DKIM, DMARC, and its `dmarcPolicy`.
    spf: &'a str,
    dkim: &'a str,
    dmarc: &'a str,
    policy: Option<&'a str>,
}

impl Checks<'_> {
    /// SPF passed for the envelope's domain, no DKIM signature, and DMARC as given (`none` when
    /// the From's domain publishes no policy).
    fn spf_pass<'a>(envelope: &'a str, dmarc: &'a str, from_domain: &str) -> Checks<'a> {
        let domain = envelope.rsplit('@').next().unwrap_or_default();
        Checks {
            envelope,
            results: format!(
                "spf=pass (spfCheck: domain of {domain} designates 203.0.113.9 as permitted sender) client-ip=203.0.113.9; envelope-from={envelope}; helo=mx.{domain};\r\n dkim=none;\r\n dmarc={dmarc} header.from={from_domain};"
            ),
            spf: "PASS",
            dkim: "GRAY",
            dmarc: if dmarc == "pass" {
                "PASS"
            } else if dmarc == "fail" {
                "FAIL"
            } else {
                "GRAY"
            },
            policy: None,
        }
    }
}

/// An email from `from` as SES stores it after its checks.
fn stored(world: &World, from: &str, checks: &Checks<'_>, subject: &str, body: &str) -> Vec<u8> {
    let id = &mail2sms::domain::account::new_api_key()[..12];
    format!(
        "Return-Path: <{envelope}>\r\n\
         Received: from mx.sender.example (mx.sender.example [203.0.113.9])\r\n by inbound-smtp.eu-west-1.amazonaws.com with SMTP id {id}\r\n for mail2sms@sms.example.com;\r\n Wed, 25 Nov 2026 09:12:44 +0000 (UTC)\r\n\
         X-SES-Spam-Verdict: PASS\r\n\
         X-SES-Virus-Verdict: PASS\r\n\
         Authentication-Results: amazonses.com;\r\n {results}\r\n\
         Received: by mx.sender.example with SMTP id {id}; Wed, 25 Nov 2026 10:12:40 +0100\r\n\
         From: {from}\r\nTo: mail2sms@sms.example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@{token}.mail.example>\r\nDate: Wed, 25 Nov 2026 10:12:40 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        envelope = checks.envelope,
        results = checks.results,
        token = world.token,
    )
    .into_bytes()
}

/// The SES event of a stored email, its verdicts those of `checks`.
fn event(world: &World, message_id: &str, checks: &Checks<'_>) -> Value {
    let mut event = world.ses_event(message_id);
    let receipt = &mut event["Records"][0]["ses"]["receipt"];
    receipt["spfVerdict"] = json!({ "status": checks.spf });
    receipt["dkimVerdict"] = json!({ "status": checks.dkim });
    receipt["dmarcVerdict"] = json!({ "status": checks.dmarc });
    match checks.policy {
        Some(policy) => receipt["dmarcPolicy"] = json!(policy),
        None => {
            receipt.as_object_mut().expect("a receipt").remove("dmarcPolicy");
        }
    }
    event
}

/// Stores the email and runs the gateway on its SES event.
async fn deliver(world: &World, from: &str, checks: &Checks<'_>, subject: &str) -> (String, Outcome) {
    let id = world.receive(&stored(world, from, checks, subject, &format!("Bonjour {}", world.token))).await;
    let outcomes = world.gateway().handle(event(world, &id, checks), &world.invocation()).await.unwrap();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    (id, outcomes.into_iter().next().unwrap())
}

fn refused(status: StatusCode, reply: ReplyOutcome) -> impl Fn(&Outcome) -> bool {
    move |outcome| matches!(outcome, Outcome::Rejected { status: s, reply: r, .. } if *s == status && *r == reply)
}

#[tokio::test]
async fn a_forged_from_passing_spf_for_another_domain_gets_no_reply() {
    let world = World::new().await;
    world.account("shop", 10).await;
    let (victim, attacker) =
        (format!("ceo@{}-victim.example", world.token), format!("x@{}-attacker.example", world.token));
    let checks = Checks::spf_pass(&attacker, "none", &format!("{}-victim.example", world.token));

    let (id, outcome) = deliver(&world, &victim, &checks, "shop@not-the-key|0612345678").await;

    assert!(refused(StatusCode::AuthenticationFailed, ReplyOutcome::Skipped)(&outcome), "{outcome:?}");
    assert_eq!(world.record(&id).await.reply_skipped.as_deref(), Some("not_authenticated"));
    assert!(world.replies().is_empty(), "SES's SPF PASS is for the attacker's domain, not the From's");
    assert!(world.sms().is_empty());
}

#[tokio::test]
async fn a_forged_from_with_a_valid_dkim_signature_of_another_domain_gets_no_reply() {
    let world = World::new().await;
    world.account("shop", 10).await;
    let victim = format!("ceo@{}-victim.example", world.token);
    let checks = Checks {
        envelope: &victim,
        results: format!(
            "spf=fail (spfCheck: domain of {token}-victim.example does not designate 203.0.113.9 as permitted sender) client-ip=203.0.113.9; envelope-from={victim}; helo=mx.sender.example;\r\n dkim=pass header.i=@{token}-attacker.example;\r\n dmarc=fail (p=NONE sp=NONE pct=100) header.from={token}-victim.example;",
            token = world.token
        ),
        spf: "FAIL",
        dkim: "PASS",
        dmarc: "FAIL",
        policy: Some("none"),
    };

    let (id, outcome) = deliver(&world, &victim, &checks, "shop@not-the-key|0612345678").await;

    assert!(refused(StatusCode::AuthenticationFailed, ReplyOutcome::Skipped)(&outcome), "{outcome:?}");
    assert_eq!(world.record(&id).await.reply_skipped.as_deref(), Some("not_authenticated"));
    assert!(world.replies().is_empty(), "SES's DKIM PASS is the attacker's signature");
}

#[tokio::test]
async fn a_sender_whose_envelope_is_an_aligned_subdomain_is_answered() {
    let world = World::new().await;
    world.account("shop", 10).await;
    let from = format!("claire@shop.{}.example", world.token);
    let envelope = format!("bounce+42@mail.{}.example", world.token);
    let checks = Checks::spf_pass(&envelope, "none", &format!("shop.{}.example", world.token));

    let (_, outcome) = deliver(&world, &from, &checks, "shop@not-the-key|0612345678").await;

    assert!(refused(StatusCode::AuthenticationFailed, ReplyOutcome::Sent)(&outcome), "{outcome:?}");
    let replies = world.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].to.as_deref(), Some(from.as_str()));
    assert!(replies[0].text.contains("Status: 102"), "{}", replies[0].text);
}

#[tokio::test]
async fn an_email_failing_dmarc_under_p_reject_is_dropped_without_sms_debit_or_reply() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let victim = format!("ceo@{}-victim.example", world.token);
    let attacker = format!("x@{}-attacker.example", world.token);
    let mut checks = Checks::spf_pass(&attacker, "fail", &format!("{}-victim.example", world.token));
    checks.results = checks.results.replace("dmarc=fail", "dmarc=fail (p=REJECT sp=REJECT pct=100)");
    checks.policy = Some("reject");
    let subject = format!("shop@{key}|0612345678");

    let (id, outcome) = deliver(&world, &victim, &checks, &subject).await;

    assert_eq!(outcome, Outcome::Dropped { message_id: id.clone(), reason: Discard::FailedDmarc });
    let record = world.record(&id).await;
    assert_eq!((record.state, record.discard), (MessageState::Dropped, Some(Discard::FailedDmarc)));
    assert_eq!(record.login, None);

    // Through the S3 notification, the headers alone say it.
    let quarantined = checks.results.replace("p=REJECT", "p=quarantine");
    let raw = stored(&world, &victim, &Checks { results: quarantined, ..checks }, &subject, "Bonjour");
    let id = world.receive(&raw).await;
    let outcomes = world.gateway().handle(world.s3_event(&id), &world.invocation()).await.unwrap();
    assert_eq!(outcomes, [Outcome::Dropped { message_id: id, reason: Discard::FailedDmarc }]);

    assert!(world.sms().is_empty(), "the key was right, the From forged");
    assert_eq!(world.credits("shop").await, 10);
    assert!(world.replies().is_empty());
}

#[tokio::test]
async fn a_leaked_key_used_from_a_strangers_address_is_102_under_key_and_sender() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let claire = format!("claire@{}.example", world.token);
    let set = stdout(&admin(&world, &["account", "update", "shop", "--auth", "key+sender", "--allow", &claire]));
    assert!(set.contains("auth key+sender") && set.contains(&claire), "{set}");
    let subject = format!("shop@{key}|0612345678");

    // A stranger, authenticated for their own domain, with the key.
    let stranger = format!("x@{}-attacker.example", world.token);
    let own = Checks::spf_pass(&stranger, "pass", &format!("{}-attacker.example", world.token));
    let (id, outcome) = deliver(&world, &stranger, &own, &subject).await;
    assert!(refused(StatusCode::AuthenticationFailed, ReplyOutcome::Sent)(&outcome), "{outcome:?}");
    assert_eq!(world.record(&id).await.login, None, "listed as no account's, as for an unknown login");
    let (_, unknown) = deliver(&world, &stranger, &own, &format!("nobody@{key}|0612345678")).await;
    assert!(refused(StatusCode::AuthenticationFailed, ReplyOutcome::Sent)(&unknown), "{unknown:?}");
    let replies = world.replies();
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].to.as_deref(), Some(stranger.as_str()));
    assert_eq!(
        (&replies[0].subject, &replies[0].text),
        (&replies[1].subject, &replies[1].text),
        "the same answer whether the login exists or not"
    );
    assert!(!replies[0].contains(&key), "{}", replies[0].raw);

    // Claire's address, forged: SPF passed for the stranger's domain.
    let forged = Checks::spf_pass(&stranger, "none", &format!("{}.example", world.token));
    let (_, outcome) = deliver(&world, &claire, &forged, &subject).await;
    assert!(refused(StatusCode::AuthenticationFailed, ReplyOutcome::Skipped)(&outcome), "{outcome:?}");

    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 10);

    // Claire herself, authenticated.
    let envelope = format!("bounce@mail.{}.example", world.token);
    let hers = Checks::spf_pass(&envelope, "pass", &format!("{}.example", world.token));
    let (_, outcome) = deliver(&world, &claire, &hers, &subject).await;
    assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "{outcome:?}");
    assert_eq!(world.sms().len(), 1);
    assert_eq!(world.credits("shop").await, 9);
}

#[tokio::test]
async fn a_sender_only_email_from_an_allowed_authenticated_address_is_sent_and_debited() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let domain = format!("{}.example", world.token);
    let set =
        stdout(&admin(&world, &["account", "update", "shop", "--auth", "sender", "--allow", &format!("@{domain}")]));
    assert!(set.contains("auth sender"), "{set}");
    let claire = format!("Claire Roux <claire@{domain}>");
    let dkim = Checks {
        envelope: "bounces@esp.example.net",
        results: format!(
            "spf=pass client-ip=198.51.100.7; envelope-from=bounces@esp.example.net; helo=esp.example.net;\r\n dkim=pass header.i=@{domain};\r\n dmarc=pass header.from={domain};"
        ),
        spf: "PASS",
        dkim: "PASS",
        dmarc: "PASS",
        policy: Some("reject"),
    };

    let (id, outcome) = deliver(&world, &claire, &dkim, "0612345678;0698765432|from=SHOP").await;

    assert!(matches!(outcome, Outcome::Sent { sent: 2, cost: 2, .. }), "{outcome:?}");
    assert_eq!(world.record(&id).await.login.as_deref(), Some("shop"));
    assert_eq!(world.credits("shop").await, 8);
    let mut numbers: Vec<String> = world.sms().into_iter().map(|sms| sms.phone_number).collect();
    numbers.sort();
    assert_eq!(numbers, ["+33612345678", "+33698765432"]);

    // The manual's subject still works from the allowed sender; a wrong key does not.
    let (_, outcome) = deliver(&world, &claire, &dkim, &format!("RE: shop@{key}|0611223344")).await;
    assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "{outcome:?}");
    let (_, outcome) = deliver(&world, &claire, &dkim, "shop@not-the-key|0611223344").await;
    assert!(refused(StatusCode::AuthenticationFailed, ReplyOutcome::Sent)(&outcome), "{outcome:?}");
    // What the request says is judged once the sender opened the account.
    let (_, outcome) = deliver(&world, &claire, &dkim, "0612345678|dat=x").await;
    assert!(refused(StatusCode::InvalidRequest, ReplyOutcome::Sent)(&outcome), "{outcome:?}");
    assert_eq!(world.credits("shop").await, 7);
}

#[tokio::test]
async fn a_sender_only_email_from_an_unauthenticated_or_not_allowed_address_is_102() {
    let world = World::new().await;
    world.account("shop", 10).await;
    let claire = format!("claire@{}.example", world.token);
    stdout(&admin(&world, &["account", "update", "shop", "--auth", "sender", "--allow", &claire]));
    let subject = "0612345678|from=SHOP";

    // Claire's address, forged: SPF passed for a stranger's domain. No answer to her.
    let stranger = format!("x@{}-attacker.example", world.token);
    let forged = Checks::spf_pass(&stranger, "none", &format!("{}.example", world.token));
    let (id, outcome) = deliver(&world, &claire, &forged, subject).await;
    assert!(refused(StatusCode::AuthenticationFailed, ReplyOutcome::Skipped)(&outcome), "{outcome:?}");
    assert_eq!(world.record(&id).await.reply_skipped.as_deref(), Some("not_authenticated"));
    assert!(world.replies().is_empty());

    // An authenticated colleague the account does not allow: 102, answered.
    let marc = format!("marc@{}.example", world.token);
    let envelope = format!("marc@{}.example", world.token);
    let proven = Checks::spf_pass(&envelope, "pass", &format!("{}.example", world.token));
    let (id, outcome) = deliver(&world, &marc, &proven, subject).await;
    assert!(refused(StatusCode::AuthenticationFailed, ReplyOutcome::Sent)(&outcome), "{outcome:?}");
    assert_eq!(world.record(&id).await.login, None);
    let replies = world.replies();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].to.as_deref(), Some(marc.as_str()));
    assert!(replies[0].text.contains("Status: 102"), "{}", replies[0].text);

    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 10);
}

#[tokio::test]
async fn an_address_allowed_for_another_account_is_refused_by_the_admin_command() {
    let world = World::new().await;
    world.account("first", 1).await;
    world.account("second", 1).await;
    let claire = format!("claire@{}.example", world.token);
    stdout(&admin(&world, &["account", "update", "first", "--auth", "key+sender", "--allow", &claire.to_uppercase()]));

    let taken = admin(&world, &["account", "update", "second", "--allow", &claire, "--allow", "other@example.org"]);
    assert!(!taken.status.success(), "allowed twice");
    let said = String::from_utf8_lossy(&taken.stderr);
    assert!(said.contains(&claire) && said.contains("first") && said.contains("nothing changed"), "{said}");
    let show =
        |login: &str| -> Value { serde_json::from_str(&stdout(&admin(&world, &["account", "show", login]))).unwrap() };
    assert_eq!(show("second")["allowed_senders"], json!([]), "nothing of the command was applied");
    assert_eq!(show("second")["auth"], "key");
    assert_eq!(show("first")["auth"], "key+sender");
    assert_eq!(show("first")["allowed_senders"], json!([claire]), "stored lowercase");

    // Once the first account lets it go, the second may have it.
    stdout(&admin(&world, &["account", "update", "first", "--auth", "key", "--disallow", &claire]));
    stdout(&admin(&world, &["account", "update", "second", "--allow", &claire]));
    assert_eq!(show("second")["allowed_senders"], json!([claire]));

    for args in [
        &["account", "update", "second", "--allow", "@com"][..],
        &["account", "update", "second", "--allow", "not an address"],
        &["account", "update", "second", "--disallow", "nobody@example.org"],
        &["account", "update", "first", "--auth", "sender"],
        &["account", "update", "second", "--auth", "password"],
        &["account", "update", "nobody", "--allow", "a@example.org"],
        &["account", "show", &format!("sender#{claire}")],
    ] {
        let output = admin(&world, args);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(output.stdout.is_empty(), "{args:?} printed on stdout");
    }
}
