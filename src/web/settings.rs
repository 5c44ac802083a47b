//! What `mail2sms-web` reads from the environment: the tables, the operator's words for buying
//! credits, and the gateway's whole configuration (a send from the web goes through the same
//! pipeline as an email, so it needs the same settings).

use chrono_tz::Tz;

use crate::config::{Config, ConfigError, DEFAULT_SCHEDULE_GROUP, DEFAULT_TIMEZONE, vars as gateway_vars};

/// The variables only the customer space reads.
pub mod vars {
    /// The customer space's table (sessions, attempts, invitations, credit movements).
    pub const WEB_TABLE: &str = "WEB_TABLE";
    /// Where a customer buys credits: an `https://` page of the operator's payment provider.
    pub const PAYMENT_LINK: &str = "PAYMENT_LINK";
    /// How to ask the operator for credits (an address or a phone number), shown as text.
    pub const OPERATOR_CONTACT: &str = "OPERATOR_CONTACT";
    /// The mail function's ARN: what the schedule of a web send dated later invokes.
    pub const MAIL_FUNCTION_ARN: &str = "MAIL_FUNCTION_ARN";
    /// Outside Lambda only: the local address the binary serves HTTP on.
    pub const LISTEN_ADDR: &str = "LISTEN_ADDR";

    /// Every variable the web function reads on Lambda besides the gateway's
    /// (`config::vars::ALL`): the template must set each one on it.
    pub const ALL: [&str; 4] = [WEB_TABLE, PAYMENT_LINK, OPERATOR_CONTACT, MAIL_FUNCTION_ARN];
}

/// The address the binary listens on outside Lambda when `LISTEN_ADDR` is not set.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";

#[derive(Debug, Clone)]
pub struct WebSettings {
    pub accounts_table: String,
    pub messages_table: String,
    pub opt_outs_table: String,
    pub web_table: String,
    pub default_timezone: Tz,
    /// Only an `https://` link is kept: anything else is ignored.
    pub payment_link: Option<String>,
    pub operator_contact: Option<String>,
    pub mail_function_arn: Option<String>,
    /// The scheduler's group of the gateway's schedules (`SCHEDULE_GROUP`): where cancelling a
    /// scheduled send deletes its schedule. See [`WebSettings::schedule_group`].
    pub schedule_group: String,
    /// The gateway's configuration, or what it lacks: only the web send needs it.
    pub gateway: Result<Config, ConfigError>,
}

impl WebSettings {
    pub fn from_env() -> Result<WebSettings, ConfigError> {
        WebSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (an empty value counts as unset): the tables are
    /// required.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<WebSettings, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let zone = get(gateway_vars::DEFAULT_TIMEZONE).unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned());
        let default_timezone = crate::domain::date::parse_timezone(&zone).ok_or_else(|| ConfigError::Invalid {
            name: gateway_vars::DEFAULT_TIMEZONE,
            value: zone.clone(),
            expected: "an IANA time zone such as Europe/Paris",
        })?;
        Ok(WebSettings {
            accounts_table: required(gateway_vars::ACCOUNTS_TABLE)?,
            messages_table: required(gateway_vars::MESSAGES_TABLE)?,
            opt_outs_table: required(gateway_vars::OPT_OUTS_TABLE)?,
            web_table: required(vars::WEB_TABLE)?,
            default_timezone,
            payment_link: get(vars::PAYMENT_LINK).filter(|link| link.starts_with("https://")),
            operator_contact: get(vars::OPERATOR_CONTACT),
            mail_function_arn: get(vars::MAIL_FUNCTION_ARN),
            schedule_group: get(gateway_vars::SCHEDULE_GROUP).unwrap_or_else(|| DEFAULT_SCHEDULE_GROUP.to_owned()),
            gateway: Config::from_lookup(&lookup),
        })
    }

    /// The group the gateway's schedules are in: its configuration's (where a web send's
    /// schedule is made), else `SCHEDULE_GROUP` (emails' schedules can be cancelled even when
    /// sending from the web is off).
    pub fn schedule_group(&self) -> &str {
        self.gateway.as_ref().map_or(self.schedule_group.as_str(), |config| config.schedule_group.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_required_and_a_payment_link_must_be_https() {
        let env = [
            ("ACCOUNTS_TABLE", "a"),
            ("MESSAGES_TABLE", "m"),
            ("WEB_TABLE", "w"),
            ("OPT_OUTS_TABLE", "o"),
            ("PAYMENT_LINK", "http://pay.example.com"),
        ];
        let read = |pairs: &[(&str, &str)]| {
            let pairs = pairs.to_vec();
            WebSettings::from_lookup(move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
        };
        let settings = read(&env).unwrap();
        assert_eq!(settings.payment_link, None, "a link in clear is never shown");
        assert!(settings.gateway.is_err(), "sending needs the gateway's settings");
        assert!(matches!(read(&env[..2]), Err(ConfigError::Missing(_))));
    }
}
