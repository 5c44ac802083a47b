//! In-memory adapters that keep the ports' promises, for benchmarks and for tests that want the
//! pipeline without an emulator (fault injection, fuzzing). Each is one lock around plain data,
//! so every call is atomic, as the DynamoDB conditions make the real ones.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::domain::account::Account;
use crate::domain::alerts::Alert;
use crate::domain::contact_list::ListName;
use crate::domain::delivery::{Change, DeliveryReport, ProviderWord, change};
use crate::domain::message::{Delivery, MessageRecord, MessageState, ReplyOutcome};
use crate::domain::optout::{Lifting, OptOut, OptOutList, OptOutSource};
use crate::domain::recipient::Recipient;
use crate::domain::request::ApiKey;
use crate::pipeline::{Gateway, Settings};
use crate::ports::{
    Debit, Lease, Ledger, Opening, OutgoingSms, PortError, RawMailStore, ReplyMailer, ScheduledSend, SendScheduler,
    SmsGateway,
};

/// Raw emails by key.
#[derive(Default)]
pub struct MemoryInbox {
    pub emails: Mutex<HashMap<String, Vec<u8>>>,
}

impl RawMailStore for MemoryInbox {
    async fn fetch(&self, key: &str, limit: usize) -> Result<Option<Vec<u8>>, PortError> {
        Ok(self.emails.lock().unwrap().get(key).map(|raw| raw[..raw.len().min(limit)].to_vec()))
    }
}

#[derive(Default)]
pub struct MemoryLedger {
    pub accounts: Mutex<HashMap<String, Account>>,
    pub messages: Mutex<HashMap<String, MessageRecord>>,
    pub reply_counts: Mutex<HashMap<(String, String), u32>>,
    /// Keep an index of provider message ids (as for SNS, whose events carry no context).
    pub index_provider_ids: bool,
    pub provider_ids: Mutex<HashMap<String, (String, usize)>>,
    /// The opt-out lists: each entry by its owner (a login, or the gateway's) and number.
    pub opt_outs: Mutex<HashMap<(String, Recipient), OptOut>>,
    /// The contact lists: each list's numbers by its owner's login and its name.
    pub contact_lists: Mutex<HashMap<(String, ListName), Vec<Recipient>>>,
    /// The notes of inbound SMS (two-way): what became of each one's forward, by its id.
    pub inbound: Mutex<HashMap<String, ReplyOutcome>>,
}

impl Ledger for MemoryLedger {
    async fn account(&self, login: &str) -> Result<Option<Account>, PortError> {
        Ok(self.accounts.lock().unwrap().get(login).cloned())
    }

    async fn open(&self, record: &MessageRecord, debit: Option<&Debit>) -> Result<Opening, PortError> {
        let mut accounts = self.accounts.lock().unwrap();
        let mut messages = self.messages.lock().unwrap();
        if let Some(existing) = messages.get(&record.message_id) {
            return Ok(Opening::Exists(Box::new(existing.clone())));
        }
        if let Some(debit) = debit {
            let listed = self.listed(&debit.login, record);
            if !listed.is_empty() {
                return Ok(Opening::OptedOut(listed));
            }
            match accounts.get_mut(&debit.login) {
                Some(account) if account.key_sha256 == debit.key_sha256 && !account.suspended => {
                    if account.credits < debit.credits {
                        return Ok(Opening::InsufficientCredits { available: account.credits });
                    }
                    account.credits -= debit.credits;
                }
                _ => return Ok(Opening::UnknownAccount),
            }
        }
        let mut head = record.clone();
        if head.needs_parts() {
            for part in head.split_into_parts() {
                messages.insert(part.message_id.clone(), part);
            }
        }
        messages.insert(head.message_id.clone(), head);
        Ok(Opening::Opened)
    }

    async fn load(&self, message_id: &str) -> Result<Option<MessageRecord>, PortError> {
        Ok(self.messages.lock().unwrap().get(message_id).cloned())
    }

    async fn take_lease(&self, record: &MessageRecord, lease: &Lease, now: DateTime<Utc>) -> Result<bool, PortError> {
        let mut messages = self.messages.lock().unwrap();
        let Some(stored) = messages.get_mut(&record.message_id) else { return Ok(false) };
        let free = stored.lease_until.is_none_or(|until| until < now.timestamp())
            || stored.lease_owner.as_deref() == Some(lease.owner.as_str());
        if stored.state != record.state || !free {
            return Ok(stored.lease_attempt.as_deref() == Some(lease.attempt.as_str()));
        }
        stored.state = MessageState::Accepted;
        stored.lease_owner = Some(lease.owner.clone());
        stored.lease_until = Some(lease.until.timestamp());
        stored.lease_attempt = Some(lease.attempt.clone());
        Ok(true)
    }

    async fn checkpoint(
        &self,
        record: &MessageRecord,
        changed: &[usize],
        refund: u64,
        lease: &Lease,
    ) -> Result<(), PortError> {
        let mut accounts = self.accounts.lock().unwrap();
        let mut messages = self.messages.lock().unwrap();
        let Some(stored) = messages.get_mut(&record.message_id) else {
            return Err(PortError::Refused { service: "memory", message: "no such message".into() });
        };
        if stored.lease_owner.as_deref() != Some(lease.owner.as_str()) || stored.checkpoints != record.checkpoints {
            return Err(PortError::Unavailable { service: "memory", message: "lost the lease".into() });
        }
        stored.checkpoints += 1;
        for &index in changed {
            // The sender's fields only: a provider's report is written by `report`.
            let (from, to) = (&record.recipients[index], &mut stored.recipients[index]);
            to.delivery = from.delivery;
            to.provider_id.clone_from(&from.provider_id);
            to.error.clone_from(&from.error);
            if let Some(id) = from.provider_id.as_ref().filter(|_| self.index_provider_ids) {
                self.provider_ids.lock().unwrap().insert(id.clone(), (record.message_id.clone(), index));
            }
        }
        stored.state = record.state;
        stored.settled_at = record.settled_at;
        stored.refunded += refund;
        if record.state.is_final() && record.text.is_none() {
            stored.text = None;
        }
        if record.state.is_final() {
            stored.lease_owner = None;
            stored.lease_until = None;
            stored.lease_attempt = None;
        }
        if let Some(account) = record.login.as_ref().filter(|_| refund > 0).and_then(|login| accounts.get_mut(login)) {
            account.credits += refund;
        }
        Ok(())
    }

    async fn release_lease(&self, record: &MessageRecord, lease: &Lease) -> Result<(), PortError> {
        if let Some(stored) = self.messages.lock().unwrap().get_mut(&record.message_id)
            && stored.lease_attempt.as_deref() == Some(lease.attempt.as_str())
        {
            stored.lease_owner = None;
            stored.lease_until = None;
            stored.lease_attempt = None;
        }
        Ok(())
    }

    async fn note_reply(&self, record: &MessageRecord) -> Result<(), PortError> {
        if let Some(stored) = self.messages.lock().unwrap().get_mut(&record.message_id) {
            stored.reply = record.reply;
        }
        Ok(())
    }

    async fn count_reply(&self, address: &str, now: DateTime<Utc>, limit: u32) -> Result<bool, PortError> {
        let mut counts = self.reply_counts.lock().unwrap();
        let count = counts.entry((address.to_lowercase(), now.format("%Y%m%d%H").to_string())).or_default();
        if *count >= limit {
            return Ok(false);
        }
        *count += 1;
        Ok(true)
    }

    async fn locate(&self, provider_id: &str) -> Result<Option<(String, usize)>, PortError> {
        Ok(self.provider_ids.lock().unwrap().get(provider_id).cloned())
    }

    async fn report(&self, record: &MessageRecord, index: usize, report: &DeliveryReport) -> Result<bool, PortError> {
        let mut accounts = self.accounts.lock().unwrap();
        let mut messages = self.messages.lock().unwrap();
        let Some(stored) = messages.get_mut(&record.message_id) else { return Ok(false) };
        let Some(recipient) = stored.recipients.get_mut(index) else { return Ok(false) };
        let word = ProviderWord { delivery: report.delivery, definitive_failure: report.refunded, opted_out: false };
        if recipient.number != record.recipients[index].number
            || change(recipient.delivery, recipient.report.as_ref(), &word, report.refunded) == Change::Nothing
        {
            return Ok(false);
        }
        recipient.report = Some(report.clone());
        recipient.error = None;
        if report.refunded {
            stored.refunded += u64::from(stored.parts);
            if let Some(account) = stored.login.as_ref().and_then(|login| accounts.get_mut(login)) {
                account.credits += u64::from(stored.parts);
            }
        }
        Ok(true)
    }

    async fn resolve_doubt(
        &self,
        record: &MessageRecord,
        refund: &[usize],
        resend: &[usize],
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut accounts = self.accounts.lock().unwrap();
        let mut messages = self.messages.lock().unwrap();
        let Some(stored) = messages.get_mut(&record.message_id) else { return Ok(false) };
        let in_doubt = |i: &usize| {
            stored.recipients.get(*i).is_some_and(|r| r.is_in_doubt() && r.number == record.recipients[*i].number)
        };
        let leased = stored.lease_until.is_some_and(|until| until >= now.timestamp());
        if leased
            || stored.state != record.state
            || !refund.iter().chain(resend).all(in_doubt)
            || (!resend.is_empty() && stored.text.is_none())
        {
            return Ok(false);
        }
        let credits = u64::from(stored.parts) * refund.len() as u64;
        let account = match stored.login.as_ref().filter(|_| credits > 0) {
            Some(login) => match accounts.get_mut(login) {
                Some(account) => Some(account),
                None => {
                    let message = format!("no account {login} to refund");
                    return Err(PortError::Refused { service: "memory", message });
                }
            },
            None if credits > 0 => {
                let message = format!("message {} has no account to refund", record.message_id);
                return Err(PortError::Refused { service: "memory", message });
            }
            None => None,
        };
        for &index in refund {
            stored.recipients[index].delivery = Delivery::Failed;
            stored.recipients[index].error = Some(note.to_owned());
        }
        for &index in resend {
            stored.recipients[index].delivery = Delivery::Pending;
            stored.recipients[index].error = Some(note.to_owned());
            stored.recipients[index].resent = true;
        }
        stored.refunded += credits;
        if let Some(account) = account {
            account.credits += credits;
        }
        if resend.is_empty() {
            if !record.needs_text_after_settling(refund) {
                stored.text = None;
            }
        } else {
            stored.state = MessageState::Accepted;
            stored.settled_at = None;
            stored.lease_owner = None;
            stored.lease_until = None;
            stored.lease_attempt = None;
        }
        Ok(true)
    }

    async fn close(&self, record: &MessageRecord) -> Result<bool, PortError> {
        let mut messages = self.messages.lock().unwrap();
        let Some(stored) = messages.get_mut(&record.message_id) else { return Ok(false) };
        if stored.closed_at.is_some() || !stored.state.is_final() {
            return Ok(false);
        }
        stored.closed_at = record.closed_at;
        stored.receipt = record.receipt;
        stored.text = None;
        Ok(true)
    }

    async fn note_receipt(&self, record: &MessageRecord) -> Result<(), PortError> {
        if let Some(stored) = self.messages.lock().unwrap().get_mut(&record.message_id) {
            stored.receipt = record.receipt;
        }
        Ok(())
    }

    // ----- credit alerts -----

    async fn claim_alert(&self, login: &str, alert: &Alert) -> Result<Option<Account>, PortError> {
        let mut accounts = self.accounts.lock().unwrap();
        let Some(account) = accounts.get_mut(login).filter(|account| account.contact.is_some()) else {
            return Ok(None);
        };
        match alert {
            Alert::LowCredit { threshold } => {
                if account.low_credit != Some(*threshold) || account.low_credit_alerted || account.credits >= *threshold
                {
                    return Ok(None);
                }
                account.low_credit_alerted = true;
            }
            Alert::InsufficientCredits { day } => {
                if account.insufficient_credit_alerted_on.as_ref() == Some(day) {
                    return Ok(None);
                }
                account.insufficient_credit_alerted_on = Some(day.clone());
            }
        }
        Ok(Some(account.clone()))
    }

    async fn release_alert(&self, login: &str, alert: &Alert) -> Result<(), PortError> {
        if let Some(account) = self.accounts.lock().unwrap().get_mut(login) {
            match alert {
                Alert::LowCredit { .. } => account.low_credit_alerted = false,
                Alert::InsufficientCredits { day } => {
                    if account.insufficient_credit_alerted_on.as_ref() == Some(day) {
                        account.insufficient_credit_alerted_on = None;
                    }
                }
            }
        }
        Ok(())
    }

    // ----- authorised senders -----

    async fn account_for_sender(&self, address: &str) -> Result<Option<Account>, PortError> {
        let Some((address, domain)) = crate::domain::account::sender_entries(address) else { return Ok(None) };
        let accounts = self.accounts.lock().unwrap();
        let naming = |entry: &str| accounts.values().find(|account| account.allowed_senders.iter().any(|a| a == entry));
        Ok(naming(&address).or_else(|| naming(&domain)).cloned())
    }

    // ----- opt-outs -----

    async fn add_opt_out(&self, opt_out: &OptOut) -> Result<bool, PortError> {
        let mut lists = self.opt_outs.lock().unwrap();
        let key = (opt_out.owner.clone(), opt_out.number.clone());
        if lists.contains_key(&key) {
            return Ok(false);
        }
        lists.insert(key, opt_out.clone());
        Ok(true)
    }

    async fn opted_out(&self, login: &str, record: &MessageRecord) -> Result<Vec<(Recipient, OptOutList)>, PortError> {
        Ok(self.listed(login, record))
    }

    async fn lift_opt_out(
        &self,
        list: &OptOutList,
        number: &Recipient,
        source: OptOutSource,
    ) -> Result<Lifting, PortError> {
        let mut lists = self.opt_outs.lock().unwrap();
        let key = (list.owner().to_owned(), number.clone());
        Ok(match lists.get(&key).map(|entry| entry.source) {
            None => Lifting::NotListed,
            Some(found) if found == source => {
                lists.remove(&key);
                Lifting::Lifted
            }
            Some(found) => Lifting::Kept(found),
        })
    }

    // ----- answers by SMS -----

    async fn open_inbound(
        &self,
        inbound_id: &str,
        _message_id: &str,
        _now: DateTime<Utc>,
    ) -> Result<Option<ReplyOutcome>, PortError> {
        let mut notes = self.inbound.lock().unwrap();
        if let Some(forward) = notes.get(inbound_id) {
            return Ok(Some(*forward));
        }
        notes.insert(inbound_id.to_owned(), ReplyOutcome::Due);
        Ok(None)
    }

    async fn note_inbound(&self, inbound_id: &str, forward: ReplyOutcome) -> Result<(), PortError> {
        self.inbound.lock().unwrap().insert(inbound_id.to_owned(), forward);
        Ok(())
    }

    // ----- contact lists -----

    async fn contact_list(&self, owner: &str, name: &ListName) -> Result<Option<Vec<Recipient>>, PortError> {
        Ok(self.contact_lists.lock().unwrap().get(&(owner.to_owned(), name.clone())).cloned())
    }
}

// ----- opt-outs -----
impl MemoryLedger {
    /// The record's recipients still to be charged that are on `login`'s list or the gateway's,
    /// each once (the account's list named first).
    fn listed(&self, login: &str, record: &MessageRecord) -> Vec<(Recipient, OptOutList)> {
        let lists = self.opt_outs.lock().unwrap();
        let on = |list: &OptOutList, number: &Recipient| lists.contains_key(&(list.owner().to_owned(), number.clone()));
        let account = OptOutList::Account(login.to_owned());
        record
            .recipients
            .iter()
            .filter(|recipient| matches!(recipient.delivery, Delivery::Pending | Delivery::Sending))
            .filter_map(|recipient| {
                [&account, &OptOutList::Gateway]
                    .into_iter()
                    .find(|list| on(list, &recipient.number))
                    .map(|list| (recipient.number.clone(), list.clone()))
            })
            .collect()
    }
}

/// An SMS as the in-memory provider received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub to: String,
    pub sender: Option<String>,
    pub text: String,
}

#[derive(Default)]
pub struct MemorySms {
    pub sent: Mutex<Vec<SentSms>>,
}

impl SmsGateway for MemorySms {
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, PortError> {
        let mut sent = self.sent.lock().unwrap();
        sent.push(SentSms {
            to: sms.to.e164().to_owned(),
            sender: sms.sender.map(|s| s.as_str().to_owned()),
            text: sms.text.to_owned(),
        });
        Ok(format!("memory-{}", sent.len()))
    }
}

#[derive(Default)]
pub struct MemoryMailer {
    pub sent: Mutex<Vec<(String, Vec<u8>)>>,
}

impl ReplyMailer for MemoryMailer {
    async fn send_raw(&self, to: &str, mime: Vec<u8>) -> Result<(), PortError> {
        self.sent.lock().unwrap().push((to.to_owned(), mime));
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryScheduler {
    pub schedules: Mutex<HashMap<String, ScheduledSend>>,
    /// The parts queued, in order, repeats included.
    pub queued_parts: Mutex<Vec<String>>,
}

impl SendScheduler for MemoryScheduler {
    async fn schedule(&self, send: &ScheduledSend) -> Result<(), PortError> {
        self.schedules.lock().unwrap().entry(send.name.clone()).or_insert_with(|| send.clone());
        Ok(())
    }

    async fn queue_parts(&self, part_ids: &[String]) -> Result<(), PortError> {
        self.queued_parts.lock().unwrap().extend_from_slice(part_ids);
        Ok(())
    }
}

/// A gateway on in-memory ports, with one account `login` holding `key` and `credits`, and
/// `sms` as its provider. Replies need no authentication and are capped at 1,000 an hour.
pub fn gateway<G: SmsGateway>(
    sms: G,
    login: &str,
    key: &str,
    credits: u64,
) -> Gateway<MemoryInbox, MemoryLedger, G, MemoryMailer, MemoryScheduler> {
    let ledger = MemoryLedger::default();
    let account = Account::new(login, &ApiKey::new(key), credits, Utc::now()).expect("a possible login and balance");
    ledger.accounts.lock().unwrap().insert(login.to_owned(), account);
    Gateway {
        settings: Settings {
            inbound_bucket: "inbox".into(),
            inbound_prefix: "inbound/".into(),
            reply_from: "mail2sms@sms.example.com".into(),
            reply_require_auth: false,
            reply_limit_per_hour: 1000,
            default_timezone: chrono_tz::Europe::Paris,
            send_concurrency: crate::config::SEND_CONCURRENCY,
            refund_failed_deliveries: true,
            in_doubt_after: chrono::Duration::minutes(crate::config::DEFAULT_IN_DOUBT_AFTER_MINUTES),
            in_doubt_policy: crate::config::InDoubtPolicy::Resend,
            part_send_rate: crate::config::DEFAULT_SEND_RATE,
            two_way: false,
        },
        inbox: MemoryInbox::default(),
        ledger,
        sms,
        mailer: MemoryMailer::default(),
        scheduler: MemoryScheduler::default(),
        clock: Utc::now,
    }
}
