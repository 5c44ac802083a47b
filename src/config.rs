//! The configuration, read from the environment. The function and `mail2sms-admin` read the
//! same variables; every variable the code reads is named in [`vars`], and a test checks that
//! `template.yaml` sets each of them on the function.

use chrono_tz::Tz;
use thiserror::Error;

/// The names of the environment variables the code reads (besides the AWS SDK's own).
pub mod vars {
    pub const ACCOUNTS_TABLE: &str = "ACCOUNTS_TABLE";
    pub const MESSAGES_TABLE: &str = "MESSAGES_TABLE";
    pub const INBOUND_BUCKET: &str = "INBOUND_BUCKET";
    pub const INBOUND_PREFIX: &str = "INBOUND_PREFIX";
    pub const REPLY_FROM: &str = "REPLY_FROM";
    pub const REPLY_REQUIRE_AUTH: &str = "REPLY_REQUIRE_AUTH";
    pub const REPLY_LIMIT_PER_HOUR: &str = "REPLY_LIMIT_PER_HOUR";
    pub const SMS_PROVIDER: &str = "SMS_PROVIDER";
    pub const SMS_TYPE: &str = "SMS_TYPE";
    pub const EUM_ORIGINATION_IDENTITY: &str = "EUM_ORIGINATION_IDENTITY";
    pub const EUM_CONFIGURATION_SET: &str = "EUM_CONFIGURATION_SET";
    pub const DEFAULT_TIMEZONE: &str = "DEFAULT_TIMEZONE";
    pub const SCHEDULE_GROUP: &str = "SCHEDULE_GROUP";
    pub const SCHEDULER_ROLE_ARN: &str = "SCHEDULER_ROLE_ARN";
    pub const SCHEDULE_DLQ_ARN: &str = "SCHEDULE_DLQ_ARN";
    pub const REFUND_FAILED_DELIVERIES: &str = "REFUND_FAILED_DELIVERIES";
    pub const IN_DOUBT_AFTER_MINUTES: &str = "IN_DOUBT_AFTER_MINUTES";
    pub const IN_DOUBT_POLICY: &str = "IN_DOUBT_POLICY";
    pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
    pub const OPT_OUTS_TABLE: &str = "OPT_OUTS_TABLE";
    pub const CONTACT_LISTS_TABLE: &str = "CONTACT_LISTS_TABLE";
    pub const ACCOUNT_CACHE_SECONDS: &str = "ACCOUNT_CACHE_SECONDS";
    pub const PARTS_QUEUE_URL: &str = "PARTS_QUEUE_URL";
    pub const SEND_RATE: &str = "SEND_RATE";
    pub const FAN_OUT_CONCURRENCY: &str = "FAN_OUT_CONCURRENCY";
    pub const TWO_WAY: &str = "TWO_WAY";

    /// Every variable the function reads: the template must set each one.
    pub const ALL: [&str; 26] = [
        ACCOUNTS_TABLE,
        MESSAGES_TABLE,
        INBOUND_BUCKET,
        INBOUND_PREFIX,
        REPLY_FROM,
        REPLY_REQUIRE_AUTH,
        REPLY_LIMIT_PER_HOUR,
        SMS_PROVIDER,
        SMS_TYPE,
        EUM_ORIGINATION_IDENTITY,
        EUM_CONFIGURATION_SET,
        DEFAULT_TIMEZONE,
        SCHEDULE_GROUP,
        SCHEDULER_ROLE_ARN,
        SCHEDULE_DLQ_ARN,
        REFUND_FAILED_DELIVERIES,
        IN_DOUBT_AFTER_MINUTES,
        IN_DOUBT_POLICY,
        METRICS_NAMESPACE,
        OPT_OUTS_TABLE,
        CONTACT_LISTS_TABLE,
        ACCOUNT_CACHE_SECONDS,
        PARTS_QUEUE_URL,
        SEND_RATE,
        FAN_OUT_CONCURRENCY,
        TWO_WAY,
    ];
}

/// The gateway's settings, as the function needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub accounts_table: String,
    pub messages_table: String,
    pub inbound_bucket: String,
    pub inbound_prefix: String,
    pub reply_from: String,
    pub reply_require_auth: bool,
    pub reply_limit_per_hour: u32,
    pub sms_provider: SmsProvider,
    pub sms_type: SmsType,
    pub eum_origination_identity: Option<String>,
    pub eum_configuration_set: Option<String>,
    pub default_timezone: Tz,
    pub schedule_group: String,
    pub scheduler_role_arn: Option<String>,
    pub schedule_dlq_arn: Option<String>,
    /// See [`SEND_CONCURRENCY`].
    pub send_concurrency: usize,
    /// A definitive delivery failure (invalid or unreachable number, blocked, spam, expired,
    /// opted out) gives the recipient's parts back.
    pub refund_failed_deliveries: bool,
    /// How long a recipient in doubt waits for a delivery event before the policy applies.
    pub in_doubt_after: chrono::Duration,
    pub in_doubt_policy: InDoubtPolicy,
    /// The CloudWatch namespace of the function's metrics.
    pub metrics_namespace: String,
    /// The opt-out lists (the accounts' and the gateway's).
    pub opt_outs_table: String,
    /// The accounts' contact lists, which a subject names (`#clients`).
    pub contact_lists_table: String,
    /// How long a warm process admits emails on its copy of an account instead of reading it
    /// (see [`crate::account_cache`]); zero reads every time.
    pub account_cache_ttl: std::time::Duration,
    /// The queue of large emails' parts (see [`crate::aws::sqs`]); without it, an email of more
    /// than [`MAX_RECORD_RECIPIENTS`](crate::domain::message::MAX_RECORD_RECIPIENTS) recipients
    /// cannot be sent.
    pub parts_queue_url: Option<String>,
    /// The SMS per second the parts of large emails are sent at, all parts together: the
    /// provider's throughput (SNS's account quota, End User Messaging's origination MPS).
    pub send_rate: f64,
    /// How many invocations send parts at once (the queue's event source mapping's maximum
    /// concurrency): each sends at `send_rate / fan_out_concurrency`.
    pub fan_out_concurrency: u32,
    /// Two-way SMS (see [`crate::inbound`]): each email keeps the address its recipients'
    /// answers by SMS are forwarded to, and the provider's message ids are indexed whatever the
    /// provider (End User Messaging's too), so that an answer finds the message it answers.
    pub two_way: bool,
}

/// The default send rate of large emails' parts, in SMS a second: SNS's default account quota.
pub const DEFAULT_SEND_RATE: f64 = 20.0;
/// The default number of invocations sending parts at once (the least SQS allows).
pub const DEFAULT_FAN_OUT_CONCURRENCY: u32 = 2;

impl Config {
    /// The SMS per second one invocation sends a part at.
    pub fn part_send_rate(&self) -> f64 {
        self.send_rate / f64::from(self.fan_out_concurrency.max(1))
    }
}

/// What becomes of a recipient in doubt (its send's answer was lost, or the invocation died)
/// when no delivery event has come within the window: the provider never took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InDoubtPolicy {
    /// Send it once more (a second doubt refunds it).
    Resend,
    /// Give its parts back.
    Refund,
}

/// Which service sends the SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsProvider {
    /// Amazon SNS `Publish` to a phone number.
    Sns,
    /// AWS End User Messaging SMS (`SendTextMessage`).
    EndUserMessaging,
}

/// The SMS type asked of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsType {
    Transactional,
    Promotional,
}

impl SmsType {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsType::Transactional => "Transactional",
            SmsType::Promotional => "Promotional",
        }
    }
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {name} has an invalid value {value:?}: expected {expected}")]
    Invalid { name: &'static str, value: String, expected: &'static str },
}

/// The defaults of the optional variables.
pub const DEFAULT_INBOUND_PREFIX: &str = "inbound/";
pub const DEFAULT_TIMEZONE: &str = "Europe/Paris";
pub const DEFAULT_REPLY_LIMIT_PER_HOUR: u32 = 10;
pub const DEFAULT_SCHEDULE_GROUP: &str = "default";
/// How many SMS one invocation hands to the provider at once (the sliding window's width):
/// also the most recipients that can be in doubt after a crash.
pub const SEND_CONCURRENCY: usize = 16;
pub const DEFAULT_IN_DOUBT_AFTER_MINUTES: i64 = 30;
pub const DEFAULT_METRICS_NAMESPACE: &str = "Mail2SMS";
/// The longest an account's copy may serve: a setting changed applies within this.
pub const MAX_ACCOUNT_CACHE_SECONDS: u64 = 300;

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`; an empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &'static str| setting(&lookup, name);
        let required = |name: &'static str| required(&lookup, name);
        let invalid =
            |name: &'static str, value: String, expected: &'static str| ConfigError::Invalid { name, value, expected };

        let sms_provider = match get(vars::SMS_PROVIDER).as_deref() {
            None | Some("sns") => SmsProvider::Sns,
            Some("eum") => SmsProvider::EndUserMessaging,
            Some(other) => return Err(invalid(vars::SMS_PROVIDER, other.into(), "sns or eum")),
        };
        let sms_type = match get(vars::SMS_TYPE).as_deref() {
            None | Some("Transactional") => SmsType::Transactional,
            Some("Promotional") => SmsType::Promotional,
            Some(other) => return Err(invalid(vars::SMS_TYPE, other.into(), "Transactional or Promotional")),
        };
        let reply_require_auth = match get(vars::REPLY_REQUIRE_AUTH).as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => return Err(invalid(vars::REPLY_REQUIRE_AUTH, other.into(), "true or false")),
        };
        let reply_limit_per_hour = match get(vars::REPLY_LIMIT_PER_HOUR) {
            None => DEFAULT_REPLY_LIMIT_PER_HOUR,
            Some(value) => value.parse().map_err(|_| invalid(vars::REPLY_LIMIT_PER_HOUR, value, "a whole number"))?,
        };
        let refund_failed_deliveries = match get(vars::REFUND_FAILED_DELIVERIES).as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => return Err(invalid(vars::REFUND_FAILED_DELIVERIES, other.into(), "true or false")),
        };
        let in_doubt_after = match get(vars::IN_DOUBT_AFTER_MINUTES) {
            None => DEFAULT_IN_DOUBT_AFTER_MINUTES,
            Some(value) => value
                .parse()
                .ok()
                .filter(|minutes| (1..=24 * 60).contains(minutes))
                .ok_or_else(|| invalid(vars::IN_DOUBT_AFTER_MINUTES, value, "a number of minutes from 1 to 1440"))?,
        };
        // End User Messaging reports within seconds that it queued an SMS: silence means it never
        // took it, and sending again is safe. SNS only logs final statuses, hours later at
        // worst: silence proves nothing, so its default is the refund.
        let in_doubt_policy = match (get(vars::IN_DOUBT_POLICY).as_deref(), sms_provider) {
            (None | Some("auto"), SmsProvider::EndUserMessaging) | (Some("resend"), _) => InDoubtPolicy::Resend,
            (None | Some("auto"), SmsProvider::Sns) | (Some("refund"), _) => InDoubtPolicy::Refund,
            (Some(other), _) => return Err(invalid(vars::IN_DOUBT_POLICY, other.into(), "auto, resend or refund")),
        };
        let account_cache_seconds = match get(vars::ACCOUNT_CACHE_SECONDS) {
            None => crate::account_cache::DEFAULT_ACCOUNT_CACHE_SECONDS,
            Some(value) => value
                .parse()
                .ok()
                .filter(|seconds| *seconds <= MAX_ACCOUNT_CACHE_SECONDS)
                .ok_or_else(|| invalid(vars::ACCOUNT_CACHE_SECONDS, value, "a number of seconds from 0 to 300"))?,
        };
        let send_rate = match get(vars::SEND_RATE) {
            None => DEFAULT_SEND_RATE,
            Some(value) => value
                .parse::<f64>()
                .ok()
                .filter(|rate| rate.is_finite() && *rate > 0.0 && *rate <= 10_000.0)
                .ok_or_else(|| invalid(vars::SEND_RATE, value, "SMS per second, above 0 and at most 10000"))?,
        };
        let fan_out_concurrency = match get(vars::FAN_OUT_CONCURRENCY) {
            None => DEFAULT_FAN_OUT_CONCURRENCY,
            Some(value) => value
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| invalid(vars::FAN_OUT_CONCURRENCY, value, "a number from 1 to 1000"))?,
        };
        let two_way = match get(vars::TWO_WAY).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(invalid(vars::TWO_WAY, other.into(), "true or false")),
        };
        let timezone = get(vars::DEFAULT_TIMEZONE).unwrap_or_else(|| DEFAULT_TIMEZONE.into());
        let default_timezone = crate::domain::date::parse_timezone(&timezone)
            .ok_or_else(|| invalid(vars::DEFAULT_TIMEZONE, timezone, "an IANA time zone such as Europe/Paris"))?;

        Ok(Config {
            accounts_table: required(vars::ACCOUNTS_TABLE)?,
            messages_table: required(vars::MESSAGES_TABLE)?,
            inbound_bucket: required(vars::INBOUND_BUCKET)?,
            inbound_prefix: get(vars::INBOUND_PREFIX).unwrap_or_else(|| DEFAULT_INBOUND_PREFIX.into()),
            reply_from: required(vars::REPLY_FROM)?,
            reply_require_auth,
            reply_limit_per_hour,
            sms_provider,
            sms_type,
            eum_origination_identity: get(vars::EUM_ORIGINATION_IDENTITY),
            eum_configuration_set: get(vars::EUM_CONFIGURATION_SET),
            default_timezone,
            schedule_group: get(vars::SCHEDULE_GROUP).unwrap_or_else(|| DEFAULT_SCHEDULE_GROUP.into()),
            scheduler_role_arn: get(vars::SCHEDULER_ROLE_ARN),
            schedule_dlq_arn: get(vars::SCHEDULE_DLQ_ARN),
            send_concurrency: SEND_CONCURRENCY,
            refund_failed_deliveries,
            in_doubt_after: chrono::Duration::minutes(in_doubt_after),
            in_doubt_policy,
            metrics_namespace: get(vars::METRICS_NAMESPACE).unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.into()),
            opt_outs_table: required(vars::OPT_OUTS_TABLE)?,
            contact_lists_table: required(vars::CONTACT_LISTS_TABLE)?,
            account_cache_ttl: std::time::Duration::from_secs(account_cache_seconds),
            parts_queue_url: get(vars::PARTS_QUEUE_URL),
            send_rate,
            fan_out_concurrency,
            two_way,
        })
    }
}

/// A variable's value through `lookup`, surrounding whitespace removed; empty counts as unset.
fn setting(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty())
}

fn required(lookup: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<String, ConfigError> {
    setting(lookup, name).ok_or(ConfigError::Missing(name))
}

/// What `mail2sms-admin` reads: the tables for every command, what `bootstrap` makes in a
/// local emulator, the schedule group `cancel` deletes from, and the function's whole
/// configuration for the commands that send as the function does.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminSettings {
    pub accounts_table: String,
    pub messages_table: String,
    /// The opt-out lists' table: `bootstrap` and the `optout` commands need it.
    pub opt_outs_table: Option<String>,
    /// The contact lists' table: `bootstrap` and the `list` commands need it.
    pub contact_lists_table: Option<String>,
    pub inbound_bucket: Option<String>,
    pub reply_from: Option<String>,
    pub schedule_group: String,
    /// The function's configuration, or what it lacks: only `settle --resend` and `resume`
    /// need it.
    pub function: Result<Config, ConfigError>,
}

impl AdminSettings {
    /// Reads the settings from the process environment, `overrides` (the command line's
    /// values, by variable name) first.
    pub fn from_env(overrides: &[(&str, Option<String>)]) -> Result<AdminSettings, ConfigError> {
        AdminSettings::from_lookup(|name| match overrides.iter().find(|(overridden, _)| *overridden == name) {
            Some((_, value)) => value.clone(),
            None => std::env::var(name).ok(),
        })
    }

    /// Reads the settings through `lookup`, as [`Config::from_lookup`] reads (an empty value
    /// counts as unset); only the tables are required.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<AdminSettings, ConfigError> {
        Ok(AdminSettings {
            accounts_table: required(&lookup, vars::ACCOUNTS_TABLE)?,
            messages_table: required(&lookup, vars::MESSAGES_TABLE)?,
            opt_outs_table: setting(&lookup, vars::OPT_OUTS_TABLE),
            contact_lists_table: setting(&lookup, vars::CONTACT_LISTS_TABLE),
            inbound_bucket: setting(&lookup, vars::INBOUND_BUCKET),
            reply_from: setting(&lookup, vars::REPLY_FROM),
            schedule_group: setting(&lookup, vars::SCHEDULE_GROUP).unwrap_or_else(|| DEFAULT_SCHEDULE_GROUP.into()),
            function: Config::from_lookup(&lookup),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| env.get(name).cloned())
    }

    const MINIMAL: [(&str, &str); 6] = [
        (vars::ACCOUNTS_TABLE, "accounts"),
        (vars::MESSAGES_TABLE, "messages"),
        (vars::OPT_OUTS_TABLE, "opt-outs"),
        (vars::CONTACT_LISTS_TABLE, "contact-lists"),
        (vars::INBOUND_BUCKET, "inbox"),
        (vars::REPLY_FROM, "mail2sms@sms.example.com"),
    ];

    #[test]
    fn defaults_apply_when_only_the_required_are_set() {
        let config = config(&MINIMAL).unwrap();
        assert_eq!(config.inbound_prefix, "inbound/");
        assert_eq!(config.sms_provider, SmsProvider::Sns);
        assert_eq!(config.sms_type, SmsType::Transactional);
        assert_eq!(config.default_timezone, chrono_tz::Europe::Paris);
        assert!(config.reply_require_auth);
        assert_eq!(config.reply_limit_per_hour, 10);
        assert_eq!(config.eum_origination_identity, None);
        assert_eq!(config.account_cache_ttl, std::time::Duration::from_secs(30));
        assert!(!config.two_way);
    }

    #[test]
    fn a_missing_required_variable_is_named() {
        for (missing, _) in MINIMAL {
            let rest: Vec<_> = MINIMAL.iter().copied().filter(|(name, _)| *name != missing).collect();
            assert_eq!(config(&rest), Err(ConfigError::Missing(missing)));
        }
        let mut blank = MINIMAL.to_vec();
        blank[0].1 = "  ";
        assert_eq!(config(&blank), Err(ConfigError::Missing(vars::ACCOUNTS_TABLE)));
    }

    #[test]
    fn invalid_values_are_refused_with_their_name() {
        for (name, value) in [
            (vars::SMS_PROVIDER, "carrier-pigeon"),
            (vars::SMS_TYPE, "Urgent"),
            (vars::REPLY_REQUIRE_AUTH, "yes"),
            (vars::REPLY_LIMIT_PER_HOUR, "ten"),
            (vars::DEFAULT_TIMEZONE, "Europe/Atlantis"),
            (vars::ACCOUNT_CACHE_SECONDS, "301"),
            (vars::ACCOUNT_CACHE_SECONDS, "-1"),
            (vars::TWO_WAY, "yes"),
        ] {
            let mut env = MINIMAL.to_vec();
            env.push((name, value));
            match config(&env) {
                Err(ConfigError::Invalid { name: named, .. }) => assert_eq!(named, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }

    fn admin(pairs: &[(&str, &str)]) -> Result<AdminSettings, ConfigError> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AdminSettings::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn the_admin_needs_only_the_tables_and_reads_empty_as_unset() {
        let settings = admin(&[
            (vars::ACCOUNTS_TABLE, " accounts "),
            (vars::MESSAGES_TABLE, "messages"),
            (vars::OPT_OUTS_TABLE, "opt-outs"),
            (vars::SCHEDULE_GROUP, ""),
        ])
        .unwrap();
        assert_eq!((settings.accounts_table.as_str(), settings.messages_table.as_str()), ("accounts", "messages"));
        assert_eq!((settings.inbound_bucket, settings.reply_from), (None, None));
        assert_eq!(settings.schedule_group, DEFAULT_SCHEDULE_GROUP);
        assert_eq!(settings.function, Err(ConfigError::Missing(vars::INBOUND_BUCKET)), "what sending lacks");
        assert_eq!(admin(&[(vars::ACCOUNTS_TABLE, "a")]), Err(ConfigError::Missing(vars::MESSAGES_TABLE)));
        assert_eq!(
            admin(&[(vars::ACCOUNTS_TABLE, ""), (vars::MESSAGES_TABLE, "m"), (vars::OPT_OUTS_TABLE, "o")]),
            Err(ConfigError::Missing(vars::ACCOUNTS_TABLE))
        );
        let without_opt_outs = admin(&[(vars::ACCOUNTS_TABLE, "a"), (vars::MESSAGES_TABLE, "m")]).unwrap();
        assert_eq!(without_opt_outs.opt_outs_table, None, "only bootstrap and the optout commands need it");
        assert_eq!(settings.opt_outs_table.as_deref(), Some("opt-outs"));
    }

    #[test]
    fn the_admin_reads_the_function_configuration_with_the_same_tables() {
        let mut env = MINIMAL.to_vec();
        env.push((vars::SCHEDULE_GROUP, "group"));
        let settings = admin(&env).unwrap();
        assert_eq!(settings.inbound_bucket.as_deref(), Some("inbox"));
        assert_eq!(settings.reply_from.as_deref(), Some("mail2sms@sms.example.com"));
        assert_eq!(settings.schedule_group, "group");
        let function = settings.function.unwrap();
        assert_eq!((function.accounts_table, function.schedule_group), ("accounts".to_owned(), "group".to_owned()));
    }

    #[test]
    fn every_variable_read_is_listed() {
        let read = std::cell::RefCell::new(Vec::new());
        let _ = Config::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            Some(match name {
                vars::SMS_PROVIDER => "sns".into(),
                vars::SMS_TYPE => "Transactional".into(),
                vars::REPLY_REQUIRE_AUTH => "true".into(),
                vars::REPLY_LIMIT_PER_HOUR => "3".into(),
                vars::DEFAULT_TIMEZONE => "UTC".into(),
                vars::REFUND_FAILED_DELIVERIES => "false".into(),
                vars::IN_DOUBT_AFTER_MINUTES => "45".into(),
                vars::IN_DOUBT_POLICY => "resend".into(),
                vars::ACCOUNT_CACHE_SECONDS => "30".into(),
                vars::SEND_RATE => "20".into(),
                vars::FAN_OUT_CONCURRENCY => "2".into(),
                vars::TWO_WAY => "true".into(),
                _ => "x".into(),
            })
        })
        .unwrap();
        let mut read = read.into_inner();
        read.sort();
        let mut listed: Vec<String> = vars::ALL.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(read, listed);
    }
}
