//! Credit alerts, as the pipeline sends them: after a debit that leaves the balance below the
//! account's threshold, and after a refusal for want of credits (104). See
//! [`crate::domain::alerts`] for when each is due.
//!
//! **At most once.** An alert is claimed in the account (a conditional write: the flag, or the
//! day) before it goes out, so two emails debited at the same moment never both send it. Then
//! it counts against the contact's hourly cap of replies (`REPLY_LIMIT_PER_HOUR`, the same
//! counter as error replies and receipts) and goes to SES. When it certainly did not go out (the
//! cap was reached, SES said it was unavailable or throttled), the claim is given back and the
//! next debit (or 104) tries again. When it may have gone (SES's answer lost) or SES refused it
//! for good (a bad address), the claim stays: the contact is told at most once, and an alert is
//! lost only if the invocation dies between the claim and the send, or SES refuses the address.
//!
//! An alert never fails the email that caused it: the SMS are sent or scheduled first, a failed
//! alert is logged (`warn`) and the invocation goes on, so that Lambda never retries an email
//! for its alert.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::domain::account::Account;
use crate::domain::alerts::{Alert, CreditAlerts};
use crate::domain::recipient::mask_numbers_in;
use crate::pipeline::Gateway;
use crate::ports::{Ledger, PortError, RawMailStore, ReplyMailer, SendScheduler, SmsGateway};
use crate::reply::{CreditAlertMail, insufficient_credits_alert, low_credit_alert};

/// What became of an alert that was due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// Not due after all (told already, the balance no longer below the threshold), or not
    /// claimed because the account could not be written: the next event decides again.
    NotDue,
    Sent,
    /// The contact had its hourly share of emails: given back for the next event.
    RateLimited,
    /// SES did not take it: given back for the next event.
    Unavailable,
    /// SES refused it for good, or its answer was lost: not sent again.
    Lost,
}

impl<S, L, G, M, C> Gateway<S, L, G, M, C>
where
    S: RawMailStore,
    L: Ledger,
    G: SmsGateway,
    M: ReplyMailer,
    C: SendScheduler,
{
    /// After a debit of `cost` credits: tells the contact when the balance went below the
    /// account's threshold (see [`CreditAlerts::after_debit`]).
    pub(crate) async fn tell_low_credit(&self, alerts: &CreditAlerts, cost: u64) -> Told {
        let Some(alert) = alerts.after_debit(cost) else { return Told::NotDue };
        let Alert::LowCredit { threshold } = alert else { return Told::NotDue };
        self.tell(alerts, &alert, |to, account| low_credit_alert(to, &account.login, account.credits, threshold)).await
    }

    /// After an email was refused 104 (it asked `cost`, the account held `available`): tells the
    /// contact, once a day (see [`CreditAlerts::after_refusal`]).
    pub(crate) async fn tell_insufficient_credits(
        &self,
        alerts: &CreditAlerts,
        message_id: &str,
        received_at: DateTime<Utc>,
        cost: u64,
        available: u64,
    ) -> Told {
        let Some(alert) = alerts.after_refusal((self.clock)()) else { return Told::NotDue };
        self.tell(alerts, &alert, |to, account| {
            insufficient_credits_alert(to, &account.login, message_id, received_at, alerts.zone, cost, available)
        })
        .await
    }

    /// Claims the alert, counts it against the contact's hourly cap and sends the email `write`
    /// makes for the account as the claim left it (see the module's documentation).
    async fn tell(
        &self,
        alerts: &CreditAlerts,
        alert: &Alert,
        write: impl FnOnce(&str, &Account) -> CreditAlertMail,
    ) -> Told {
        let account = match self.ledger.claim_alert(&alerts.login, alert).await {
            Ok(Some(account)) => account,
            Ok(None) => return Told::NotDue,
            Err(error) => {
                warn!(error = %error, ?alert, "credit alert not claimed; the next event tries again");
                return Told::NotDue;
            }
        };
        let Some(to) = account.contact.clone() else { return Told::NotDue };
        let now = (self.clock)();
        let told = match self.ledger.count_reply(&to, now, self.settings.reply_limit_per_hour).await {
            Ok(true) => {
                let mime = write(&to, &account).to_mime(&self.settings.reply_from, now);
                match self.mailer.send_raw(&to, mime).await {
                    Ok(()) => Told::Sent,
                    Err(error @ PortError::Unavailable { .. }) => {
                        warn!(error = %mask_numbers_in(&error.to_string()), ?alert, "credit alert not taken by SES");
                        Told::Unavailable
                    }
                    Err(error) => {
                        warn!(error = %mask_numbers_in(&error.to_string()), ?alert, "credit alert refused or in doubt; not sent again");
                        Told::Lost
                    }
                }
            }
            Ok(false) => Told::RateLimited,
            Err(error) => {
                warn!(error = %error, ?alert, "reply quota not counted; credit alert left for the next event");
                Told::Unavailable
            }
        };
        if matches!(told, Told::RateLimited | Told::Unavailable)
            && let Err(error) = self.ledger.release_alert(&alerts.login, alert).await
        {
            warn!(error = %error, ?alert, "credit alert not given back; it is lost");
        }
        info!(?alert, ?told, "credit alert");
        told
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;

    use super::*;
    use crate::memory::{MemoryInbox, MemoryLedger, MemoryMailer, MemoryScheduler, MemorySms, gateway};

    type MemoryGateway = Gateway<MemoryInbox, MemoryLedger, MemorySms, MemoryMailer, MemoryScheduler>;

    /// A gateway whose account `shop` holds `credits`, alerts `ops@shop.example` below 10.
    fn shop_gateway(credits: u64) -> MemoryGateway {
        let gateway = gateway(MemorySms::default(), "shop", "k", credits);
        if let Some(account) = gateway.ledger.accounts.lock().unwrap().get_mut("shop") {
            account.low_credit = Some(10);
            account.contact = Some("ops@shop.example".into());
        }
        gateway
    }

    /// The account's alert settings as the pipeline reads them, before a debit.
    fn alerts_of(gateway: &MemoryGateway) -> CreditAlerts {
        CreditAlerts::of(&gateway.ledger.accounts.lock().unwrap()["shop"], Paris)
    }

    #[tokio::test]
    async fn the_low_credit_alert_is_claimed_once_and_tells_the_balance_of_the_moment() {
        let gateway = shop_gateway(12);
        let read_before = alerts_of(&gateway);
        gateway.ledger.accounts.lock().unwrap().get_mut("shop").unwrap().credits = 7;
        assert_eq!(gateway.tell_low_credit(&read_before, 5).await, Told::Sent);
        assert_eq!(gateway.tell_low_credit(&read_before, 5).await, Told::NotDue, "claimed already");
        let sent = gateway.mailer.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        let (to, mime) = &sent[0];
        let mime = String::from_utf8_lossy(mime);
        assert_eq!(to, "ops@shop.example");
        assert!(mime.contains("Auto-Submitted: auto-generated"), "{mime}");
        assert!(!mime.contains("In-Reply-To"), "{mime}");
        let message = mail_parser::MessageParser::default().parse(mime.as_bytes()).unwrap();
        let body = message.body_text(0).unwrap();
        assert!(body.contains("Crédits restants : 7"), "the balance as the claim read it: {body}");
        assert_eq!(message.subject(), Some("Mail2SMS: crédits bas, 7 crédits restants"));
    }

    #[tokio::test]
    async fn a_capped_alert_is_given_back_for_the_next_event() {
        let mut gateway = shop_gateway(12);
        gateway.settings.reply_limit_per_hour = 0;
        let alerts = alerts_of(&gateway);
        gateway.ledger.accounts.lock().unwrap().get_mut("shop").unwrap().credits = 2;
        assert_eq!(gateway.tell_low_credit(&alerts, 10).await, Told::RateLimited);
        assert!(!gateway.ledger.accounts.lock().unwrap()["shop"].low_credit_alerted, "re-armed");
        gateway.settings.reply_limit_per_hour = 10;
        assert_eq!(gateway.tell_low_credit(&alerts, 10).await, Told::Sent);
        assert!(gateway.ledger.accounts.lock().unwrap()["shop"].low_credit_alerted);
    }

    #[tokio::test]
    async fn a_refusal_is_told_once_a_day() {
        let gateway = shop_gateway(0);
        let alerts = alerts_of(&gateway);
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let told = gateway.tell_insufficient_credits(&alerts, "m1", at, 2, 0).await;
        assert_eq!(told, Told::Sent);
        assert_eq!(gateway.tell_insufficient_credits(&alerts, "m2", at, 2, 0).await, Told::NotDue);
        let sent = gateway.mailer.sent.lock().unwrap().clone();
        let message = mail_parser::MessageParser::default().parse(&sent[0].1).unwrap();
        let body = message.body_text(0).unwrap();
        assert!(body.contains("le 25/11/2026 à 10:00:00 (Europe/Paris)"), "{body}");
        assert!(body.contains("il demandait 2 crédits, le compte en a 0") && body.contains("Référence : m1"), "{body}");
    }
}
