//! A short-lived copy of the accounts a warm process read, so that an email from an account seen
//! moments ago is admitted without reading the account again (issue #10: one AWS call less per
//! email). [`CachedLedger`] wraps any [`Ledger`] and keeps the copies; the pipeline asks for one
//! with [`Ledger::cached_account`] and reads afresh with [`Ledger::account`] whenever the copy
//! does not admit the email.
//!
//! **What a stale copy cannot do.** The debit's own transaction stays the authority: it debits
//! only if the key's hash is the account's, the account is not suspended and its credits cover
//! the cost. An email admitted on a stale copy for a key rotated or an account suspended since is
//! refused there (102, with nothing sent nor debited), and the copy is dropped so that the next
//! email reads the account afresh; a 104 drops it too. A copy never refuses: when it does not
//! admit the email (a wrong key, a suspended account), the account is read afresh before the
//! answer, so a new key or a lifted suspension applies at once. The balance a 104 states is the
//! one the transaction read, and a credit alert states the balance its claim read: never the
//! copy's.
//!
//! Only accounts whose stale copy errs on the safe side are copied ([`AccountCache::copyable`]):
//! - in the `key` mode: in `key+sender` and `sender` modes the allowed senders, which the debit
//!   does not check, are read afresh for every email, so a sender disallowed is refused at once;
//! - held to the French marketing hours: an account that takes the responsibility for them is
//!   read for every email, so handing it back to the hours applies at once;
//! - not told of a low balance yet (`low_credit_alerted`): once told, the account is read for
//!   every email until a top-up re-arms the alert, so the next debit below the threshold tells.
//!
//! **What a stale copy can do**, for at most the copy's time to live (`ACCOUNT_CACHE_SECONDS`,
//! 30 s by default, counted from the read, not from the last use): apply the settings the
//! account had when it was read (default sender, time zone, cut rules, receipts, alert threshold
//! and contact; marketing hours only from held to not held, which holds a message longer than
//! asked); admit with the key alone an account just moved from `key` to `key+sender` or `sender`
//! mode (rotate the key, or suspend, to stop a leaked key at once); and decide from an older
//! balance whether a debit calls for a low-credit alert: the copy follows this process's own
//! debits and refunds, not other processes' nor top-ups, so an alert may come with a later debit
//! than the one that crossed the threshold, or be claimed and found not due (the claim checks
//! the balance, and changes nothing).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::account::{Account, AuthMode};
use crate::domain::alerts::Alert;
use crate::domain::contact_list::ListName;
use crate::domain::delivery::DeliveryReport;
use crate::domain::message::MessageRecord;
use crate::domain::optout::OptOut;
use crate::domain::recipient::Recipient;
use crate::ports::{Debit, Lease, Ledger, Opening, PortError};

/// How long a copy of an account serves by default (`ACCOUNT_CACHE_SECONDS`).
pub const DEFAULT_ACCOUNT_CACHE_SECONDS: u64 = 30;
/// The most accounts a process keeps copies of: a few hundred kilobytes at most. When full, the
/// oldest copy makes room.
pub const ACCOUNT_CACHE_CAPACITY: usize = 1024;

/// Copies of accounts by login, each with the instant it was read.
#[derive(Debug)]
pub struct AccountCache {
    ttl: Duration,
    capacity: usize,
    copies: Mutex<HashMap<String, (Instant, Account)>>,
}

impl AccountCache {
    /// A cache whose copies serve for `ttl` (none at all when zero), `capacity` of them at most.
    pub fn new(ttl: Duration, capacity: usize) -> AccountCache {
        AccountCache { ttl, capacity, copies: Mutex::new(HashMap::new()) }
    }

    fn copies(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Account)>> {
        // A panic while holding the lock leaves plain data behind, still usable.
        self.copies.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The copy of `login`'s account read less than the time to live before `now`.
    pub fn get(&self, login: &str, now: Instant) -> Option<Account> {
        let mut copies = self.copies();
        match copies.get(login) {
            Some((read_at, account)) if now.saturating_duration_since(*read_at) < self.ttl => Some(account.clone()),
            Some(_) => {
                copies.remove(login);
                None
            }
            None => None,
        }
    }

    /// Whether a stale copy of `account` could only err on the safe side (see the module's
    /// documentation): in the `key` mode, not suspended, held to the marketing hours, not told
    /// of a low balance yet.
    pub fn copyable(account: &Account) -> bool {
        account.auth == AuthMode::Key
            && !account.suspended
            && !account.ignore_marketing_hours
            && !account.low_credit_alerted
    }

    /// Keeps a copy of `account` as read at `now`, when it is [copyable](Self::copyable) and the
    /// time to live is not zero; otherwise drops any copy of it.
    pub fn put(&self, account: &Account, now: Instant) {
        if self.ttl.is_zero() || self.capacity == 0 || !Self::copyable(account) {
            self.forget(&account.login);
            return;
        }
        let mut copies = self.copies();
        if copies.len() >= self.capacity && !copies.contains_key(&account.login) {
            copies.retain(|_, (read_at, _)| now.saturating_duration_since(*read_at) < self.ttl);
            if copies.len() >= self.capacity
                && let Some(oldest) = copies.iter().min_by_key(|(_, (read_at, _))| *read_at).map(|(l, _)| l.clone())
            {
                copies.remove(&oldest);
            }
        }
        copies.insert(account.login.clone(), (now, account.clone()));
    }

    /// Drops the copy of `login`'s account: the next email reads it afresh.
    pub fn forget(&self, login: &str) {
        self.copies().remove(login);
    }

    /// Follows a change of the balance this process made (a debit, a refund), keeping the
    /// copy's age.
    fn add_credits(&self, login: &str, change: i128) {
        if let Some((_, account)) = self.copies().get_mut(login) {
            account.credits = u64::try_from(i128::from(account.credits) + change).unwrap_or(0);
        }
    }

    /// How many copies are kept, expired or not.
    pub fn len(&self) -> usize {
        self.copies().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A [`Ledger`] that keeps short-lived copies of the accounts it reads (see the module's
/// documentation for what a stale copy can and cannot do). Every other call goes to the
/// wrapped ledger as it is.
#[derive(Debug)]
pub struct CachedLedger<L> {
    pub inner: L,
    pub cache: AccountCache,
}

impl<L> CachedLedger<L> {
    pub fn new(inner: L, ttl: Duration) -> CachedLedger<L> {
        CachedLedger { inner, cache: AccountCache::new(ttl, ACCOUNT_CACHE_CAPACITY) }
    }
}

impl<L: Ledger> Ledger for CachedLedger<L> {
    /// Always reads afresh, and keeps what it read.
    async fn account(&self, login: &str) -> Result<Option<Account>, PortError> {
        let now = Instant::now();
        let account = self.inner.account(login).await?;
        match &account {
            Some(account) => self.cache.put(account, now),
            None => self.cache.forget(login),
        }
        Ok(account)
    }

    fn cached_account(&self, login: &str) -> Option<Account> {
        self.cache.get(login, Instant::now())
    }

    /// Follows this process's debit in the copy; a refusal by the account (102, 104) drops it.
    async fn open(&self, record: &MessageRecord, debit: Option<&Debit>) -> Result<Opening, PortError> {
        let opening = self.inner.open(record, debit).await?;
        if let Some(debit) = debit {
            match &opening {
                Opening::Opened => self.cache.add_credits(&debit.login, -i128::from(debit.credits)),
                Opening::UnknownAccount | Opening::InsufficientCredits { .. } => self.cache.forget(&debit.login),
                Opening::Exists(_) | Opening::OptedOut(_) => {}
            }
        }
        Ok(opening)
    }

    async fn load(&self, message_id: &str) -> Result<Option<MessageRecord>, PortError> {
        self.inner.load(message_id).await
    }

    async fn take_lease(&self, record: &MessageRecord, lease: &Lease, now: DateTime<Utc>) -> Result<bool, PortError> {
        self.inner.take_lease(record, lease, now).await
    }

    /// Follows this process's refund in the copy.
    async fn checkpoint(
        &self,
        record: &MessageRecord,
        changed: &[usize],
        refund: u64,
        lease: &Lease,
    ) -> Result<(), PortError> {
        self.inner.checkpoint(record, changed, refund, lease).await?;
        if let Some(login) = record.login.as_deref().filter(|_| refund > 0) {
            self.cache.add_credits(login, i128::from(refund));
        }
        Ok(())
    }

    async fn release_lease(&self, record: &MessageRecord, lease: &Lease) -> Result<(), PortError> {
        self.inner.release_lease(record, lease).await
    }

    async fn note_reply(&self, record: &MessageRecord) -> Result<(), PortError> {
        self.inner.note_reply(record).await
    }

    async fn count_reply(&self, address: &str, now: DateTime<Utc>, limit: u32) -> Result<bool, PortError> {
        self.inner.count_reply(address, now, limit).await
    }

    async fn locate(&self, provider_id: &str) -> Result<Option<(String, usize)>, PortError> {
        self.inner.locate(provider_id).await
    }

    async fn report(&self, record: &MessageRecord, index: usize, report: &DeliveryReport) -> Result<bool, PortError> {
        self.inner.report(record, index, report).await
    }

    async fn resolve_doubt(
        &self,
        record: &MessageRecord,
        refund: &[usize],
        resend: &[usize],
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        self.inner.resolve_doubt(record, refund, resend, note, now).await
    }

    async fn close(&self, record: &MessageRecord) -> Result<bool, PortError> {
        self.inner.close(record).await
    }

    async fn note_receipt(&self, record: &MessageRecord) -> Result<(), PortError> {
        self.inner.note_receipt(record).await
    }

    /// A claimed alert hands back the account as it is: the copy becomes that.
    async fn claim_alert(&self, login: &str, alert: &Alert) -> Result<Option<Account>, PortError> {
        let now = Instant::now();
        let claimed = self.inner.claim_alert(login, alert).await?;
        if let Some(account) = &claimed {
            self.cache.put(account, now);
        }
        Ok(claimed)
    }

    async fn release_alert(&self, login: &str, alert: &Alert) -> Result<(), PortError> {
        self.cache.forget(login);
        self.inner.release_alert(login, alert).await
    }

    async fn account_for_sender(&self, address: &str) -> Result<Option<Account>, PortError> {
        self.inner.account_for_sender(address).await
    }

    async fn add_opt_out(&self, opt_out: &OptOut) -> Result<bool, PortError> {
        self.inner.add_opt_out(opt_out).await
    }

    async fn opted_out(
        &self,
        login: &str,
        record: &MessageRecord,
    ) -> Result<Vec<(Recipient, crate::domain::optout::OptOutList)>, PortError> {
        self.inner.opted_out(login, record).await
    }

    async fn lift_opt_out(
        &self,
        list: &crate::domain::optout::OptOutList,
        number: &Recipient,
        source: crate::domain::optout::OptOutSource,
    ) -> Result<crate::domain::optout::Lifting, PortError> {
        self.inner.lift_opt_out(list, number, source).await
    }

    async fn open_inbound(
        &self,
        inbound_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::domain::message::ReplyOutcome>, PortError> {
        self.inner.open_inbound(inbound_id, message_id, now).await
    }

    async fn note_inbound(
        &self,
        inbound_id: &str,
        forward: crate::domain::message::ReplyOutcome,
    ) -> Result<(), PortError> {
        self.inner.note_inbound(inbound_id, forward).await
    }

    async fn contact_list(&self, owner: &str, name: &ListName) -> Result<Option<Vec<Recipient>>, PortError> {
        self.inner.contact_list(owner, name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::ApiKey;
    use crate::memory::MemoryLedger;

    fn account(login: &str) -> Account {
        Account::new(login, &ApiKey::new("k"), 10, Utc::now()).unwrap()
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_copy_serves_until_its_time_to_live_from_the_read() {
        let cache = AccountCache::new(30 * SECOND, 8);
        let t0 = Instant::now();
        cache.put(&account("shop"), t0);
        assert_eq!(cache.get("shop", t0 + 29 * SECOND).map(|a| a.login), Some("shop".into()));
        assert_eq!(cache.get("shop", t0 + 30 * SECOND), None, "expired, however often it served");
        assert!(cache.is_empty(), "an expired copy is dropped when found");
        assert_eq!(cache.get("other", t0), None);
    }

    #[test]
    fn a_zero_time_to_live_keeps_nothing() {
        let cache = AccountCache::new(Duration::ZERO, 8);
        cache.put(&account("shop"), Instant::now());
        assert!(cache.is_empty());
    }

    #[test]
    fn only_accounts_in_the_key_mode_are_copied() {
        let cache = AccountCache::new(30 * SECOND, 8);
        let t0 = Instant::now();
        cache.put(&account("shop"), t0);
        let mut senders = account("shop");
        senders.auth = AuthMode::KeyAndSender;
        cache.put(&senders, t0);
        assert_eq!(cache.get("shop", t0), None, "a mode with allowed senders is read afresh, and drops the copy");
        senders.auth = AuthMode::Sender;
        cache.put(&senders, t0);
        assert!(cache.is_empty());
    }

    #[test]
    fn an_account_whose_stale_copy_could_err_on_the_unsafe_side_is_not_copied() {
        let cache = AccountCache::new(30 * SECOND, 8);
        let t0 = Instant::now();
        let unsafe_to_copy: [fn(&mut Account); 3] =
            [|a| a.suspended = true, |a| a.ignore_marketing_hours = true, |a| a.low_credit_alerted = true];
        for change in unsafe_to_copy {
            cache.put(&account("shop"), t0);
            let mut changed = account("shop");
            change(&mut changed);
            cache.put(&changed, t0);
            assert_eq!(cache.get("shop", t0), None, "{changed:?}");
        }
    }

    #[test]
    fn the_cache_is_bounded_and_the_oldest_copy_makes_room() {
        let cache = AccountCache::new(30 * SECOND, 3);
        let t0 = Instant::now();
        for (i, login) in ["a", "b", "c", "d"].into_iter().enumerate() {
            cache.put(&account(login), t0 + SECOND * i as u32);
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get("a", t0 + 4 * SECOND), None, "the oldest went");
        assert!(cache.get("d", t0 + 4 * SECOND).is_some());
        // Expired copies go first, whatever their number.
        cache.put(&account("e"), t0 + 32 * SECOND);
        assert_eq!(cache.len(), 2, "b and c expired: {:?}", cache.copies().keys().collect::<Vec<_>>());
        cache.put(&account("d"), t0 + 33 * SECOND);
        assert_eq!(cache.len(), 2, "a login already kept is replaced, not added");
    }

    fn ledger(credits: u64) -> CachedLedger<MemoryLedger> {
        let memory = MemoryLedger::default();
        let mut shop = account("shop");
        shop.credits = credits;
        memory.accounts.lock().unwrap().insert("shop".into(), shop);
        CachedLedger::new(memory, 30 * SECOND)
    }

    fn debit(credits: u64) -> Debit {
        Debit { login: "shop".into(), key_sha256: ApiKey::new("k").sha256_hex(), credits }
    }

    fn record(id: &str) -> MessageRecord {
        use crate::domain::date::When;
        use crate::domain::message::RecipientRecord;
        use crate::domain::recipient::Recipient;
        let to = RecipientRecord::pending(Recipient::parse_e164("+33612345678").unwrap(), None);
        let segments = crate::domain::segments::count("Bonjour");
        MessageRecord::accepted(id, Utc::now(), "shop", vec![to], "Bonjour".into(), segments, When::Now)
    }

    #[tokio::test]
    async fn a_read_is_kept_and_followed_by_this_process_debits() {
        let ledger = ledger(10);
        assert_eq!(ledger.cached_account("shop"), None, "nothing read yet");
        ledger.account("shop").await.unwrap();
        assert_eq!(ledger.open(&record("m1"), Some(&debit(3))).await.unwrap(), Opening::Opened);
        assert_eq!(ledger.cached_account("shop").map(|a| a.credits), Some(7));
    }

    #[tokio::test]
    async fn a_refusal_by_the_account_drops_the_copy() {
        let ledger = ledger(10);
        ledger.account("shop").await.unwrap();
        ledger.inner.accounts.lock().unwrap().get_mut("shop").unwrap().suspended = true;
        assert_eq!(ledger.open(&record("m1"), Some(&debit(1))).await.unwrap(), Opening::UnknownAccount);
        assert_eq!(ledger.cached_account("shop"), None, "102 reads afresh next time");

        let ledger = super::tests::ledger(1);
        ledger.account("shop").await.unwrap();
        let refused = ledger.open(&record("m2"), Some(&debit(2))).await.unwrap();
        assert_eq!(refused, Opening::InsufficientCredits { available: 1 });
        assert_eq!(ledger.cached_account("shop"), None, "104 reads afresh next time");
    }

    #[tokio::test]
    async fn an_account_gone_or_moved_to_a_sender_mode_is_no_longer_copied() {
        let ledger = ledger(10);
        ledger.account("shop").await.unwrap();
        ledger.inner.accounts.lock().unwrap().get_mut("shop").unwrap().auth = AuthMode::KeyAndSender;
        ledger.account("shop").await.unwrap();
        assert_eq!(ledger.cached_account("shop"), None);
        ledger.inner.accounts.lock().unwrap().get_mut("shop").unwrap().auth = AuthMode::Key;
        ledger.account("shop").await.unwrap();
        ledger.inner.accounts.lock().unwrap().remove("shop");
        assert_eq!(ledger.account("shop").await.unwrap(), None);
        assert_eq!(ledger.cached_account("shop"), None);
    }
}
