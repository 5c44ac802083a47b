//! SES's verdicts on a message (spam and virus scans) and the sender's authentication (SPF,
//! DKIM, DMARC): from the SES event, or from the header fields SES wrote into the stored
//! message, and only those SES wrote.

use mail_parser::{Header, HeaderName, Host};
use serde::{Deserialize, Serialize};

use super::alignment::{AuthenticationResults, parse_received_spf};
use super::headers::{field, field_text, is_named};

/// The authserv-id SES writes in its Authentication-Results header.
pub(super) const SES_AUTHSERV_ID: &str = "amazonses.com";

/// A verdict SES gives a received message, or an SPF, DKIM or DMARC result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Fail,
    Gray,
    ProcessingFailed,
    Disabled,
}

impl Verdict {
    /// Reads SES's statuses (`PASS`, `FAIL`, `GRAY`, `PROCESSING_FAILED`, `DISABLED`) and the
    /// results of Authentication-Results and Received-SPF (`pass`; `fail` and `softfail` are
    /// Fail; `neutral`, `none`, `temperror`, `permerror` and `policy` are Gray), case-insensitively.
    /// `None` for anything else.
    pub fn from_ses(status: &str) -> Option<Verdict> {
        match status.trim().to_ascii_lowercase().as_str() {
            "pass" => Some(Verdict::Pass),
            "fail" | "softfail" => Some(Verdict::Fail),
            "gray" | "neutral" | "none" | "temperror" | "permerror" | "policy" => Some(Verdict::Gray),
            "processing_failed" => Some(Verdict::ProcessingFailed),
            "disabled" => Some(Verdict::Disabled),
            _ => None,
        }
    }
}

/// SES's verdicts on a message: spam and virus scans, and the sender's SPF, DKIM and DMARC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdicts {
    pub spam: Option<Verdict>,
    pub virus: Option<Verdict>,
    pub spf: Option<Verdict>,
    pub dkim: Option<Verdict>,
    pub dmarc: Option<Verdict>,
}

impl Verdicts {
    /// When the S3 notification is the trigger, SES's verdicts are only in the stored headers.
    /// SES prepends its header fields, so for each kind only the topmost one can be SES's:
    /// - spam and virus: the topmost X-SES-Spam-Verdict and X-SES-Virus-Verdict;
    /// - spf, dkim, dmarc: the topmost Authentication-Results whose authserv-id is
    ///   `amazonses.com`; those of any other authserv-id are ignored, a sender can forge them.
    ///   When a method has several results (one per DKIM signature), a pass among them wins;
    /// - spf, when that header has none: the Received-SPF header SES wrote, i.e. the first one
    ///   between SES's own Received header (the topmost, `by inbound-smtp.<region>.amazonaws.com`)
    ///   and the next Received header, which belongs to the sender's side.
    pub(super) fn from_headers(headers: &[Header<'_>], raw: &[u8], trace: &SesTrace) -> Verdicts {
        let topmost = |name: &str| field(headers, name).and_then(|header| Verdict::from_ses(&field_text(raw, header)));
        let authentication = trace.results.as_ref().map(ses_verdicts).unwrap_or_default();
        let received_spf = || trace.received_spf.as_deref().and_then(parse_received_spf).and_then(|spf| spf.verdict());
        Verdicts {
            spam: topmost("X-SES-Spam-Verdict"),
            virus: topmost("X-SES-Virus-Verdict"),
            spf: authentication.spf.or_else(received_spf),
            dkim: authentication.dkim,
            dmarc: authentication.dmarc,
        }
    }

    /// SES event verdicts take precedence field by field over the header ones: each field is
    /// `self`'s when known, `fallback`'s otherwise.
    pub fn or(self, fallback: Verdicts) -> Verdicts {
        Verdicts {
            spam: self.spam.or(fallback.spam),
            virus: self.virus.or(fallback.virus),
            spf: self.spf.or(fallback.spf),
            dkim: self.dkim.or(fallback.dkim),
            dmarc: self.dmarc.or(fallback.dmarc),
        }
    }

    /// SPF, DKIM or DMARC passed: *something* did, not necessarily for the From's domain (an
    /// SPF pass for a forger's own envelope counts here). Whether the From is proven is
    /// [`Authentication`](super::Authentication)'s to say.
    pub fn is_authenticated(&self) -> bool {
        [self.spf, self.dkim, self.dmarc].contains(&Some(Verdict::Pass))
    }
}

/// What SES wrote into the stored message about the sender's authentication, found only where
/// SES writes it (a sender can write any of these header fields below SES's):
/// - `results`: the topmost Authentication-Results whose authserv-id is `amazonses.com`;
/// - `received_spf`: the Received-SPF header SES wrote, i.e. the first one between SES's own
///   Received header (the topmost, `by inbound-smtp.<region>.amazonaws.com`) and the next
///   Received header, which belongs to the sender's side;
/// - `return_path`: the Return-Path SES wrote above its own Received header (see
///   [`ses_return_path`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SesTrace {
    pub results: Option<AuthenticationResults>,
    pub received_spf: Option<String>,
    pub return_path: Option<String>,
}

impl SesTrace {
    pub(super) fn from_headers(headers: &[Header<'_>], raw: &[u8]) -> SesTrace {
        let results = headers.iter().filter(|header| is_named(header, "Authentication-Results")).find_map(|header| {
            AuthenticationResults::parse(&field_text(raw, header)).filter(|results| results.is_by(SES_AUTHSERV_ID))
        });
        SesTrace {
            results,
            received_spf: field(ses_trace_fields(headers), "Received-SPF").map(|header| field_text(raw, header)),
            return_path: ses_return_path(headers).map(|header| field_text(raw, header)),
        }
    }
}

/// The spf, dkim and dmarc verdicts of SES's Authentication-Results: for each method, a pass
/// among its results wins, else its last result.
fn ses_verdicts(results: &AuthenticationResults) -> Verdicts {
    let mut verdicts = Verdicts::default();
    for result in &results.results {
        let slot = match result.method.as_str() {
            "spf" => &mut verdicts.spf,
            "dkim" => &mut verdicts.dkim,
            "dmarc" => &mut verdicts.dmarc,
            _ => continue,
        };
        if let Some(verdict) = result.verdict()
            && *slot != Some(Verdict::Pass)
        {
            *slot = Some(verdict);
        }
    }
    verdicts
}

/// The spf, dkim and dmarc results of an Authentication-Results value, if SES wrote it
/// (authserv-id `amazonses.com`).
#[cfg(test)]
fn ses_authentication_results(value: &str) -> Option<Verdicts> {
    AuthenticationResults::parse(value).filter(|results| results.is_by(SES_AUTHSERV_ID)).as_ref().map(ses_verdicts)
}

/// The header fields SES wrote above the message it received: those after the topmost Received
/// header, when that one is SES's own (`by inbound-smtp.<region>.amazonaws.com`), up to the next
/// Received header. Empty when the topmost Received header is not SES's.
fn ses_trace_fields<'a, 'x>(headers: &'a [Header<'x>]) -> &'a [Header<'x>] {
    let mut received = headers.iter().enumerate().filter(|(_, header)| header.name == HeaderName::Received);
    let Some((top, header)) = received.next() else { return &[] };
    if !is_ses_received(header) {
        return &[];
    }
    let end = received.next().map_or(headers.len(), |(index, _)| index);
    &headers[top + 1..end]
}

/// The Return-Path SES wrote: the one above the topmost Received header, when that one is SES's
/// own (SES writes the envelope sender there, as the final delivery does). `None` otherwise: a
/// Return-Path below it, or with no SES Received header above the message, is the sender's.
pub(super) fn ses_return_path<'a, 'x>(headers: &'a [Header<'x>]) -> Option<&'a Header<'x>> {
    let top = headers.iter().position(|header| header.name == HeaderName::Received)?;
    if !is_ses_received(&headers[top]) {
        return None;
    }
    headers[..top].iter().find(|header| is_named(header, "Return-Path"))
}

/// Whether a Received header is SES's own: `by inbound-smtp.<region>.amazonaws.com`.
fn is_ses_received(header: &Header<'_>) -> bool {
    header.value.as_received().and_then(|received| received.by()).is_some_and(|host| match host {
        Host::Name(name) => {
            let name = name.to_ascii_lowercase();
            name.starts_with("inbound-smtp.") && name.ends_with(".amazonaws.com")
        }
        Host::IpAddr(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::testing::read;

    #[test]
    fn the_stored_message_carries_ses_verdicts() {
        let verdicts = read(fixture!("ses-stored")).verdicts;
        let pass = Some(Verdict::Pass);
        assert_eq!(verdicts, Verdicts { spam: pass, virus: pass, spf: pass, dkim: pass, dmarc: pass });
        assert!(verdicts.is_authenticated());
    }

    #[test]
    fn authentication_results_from_another_authserv_id_are_ignored() {
        let verdicts = read(fixture!("ses-stored-forged-authentication")).verdicts;
        let pass = Some(Verdict::Pass);
        assert_eq!(verdicts, Verdicts { spam: pass, virus: pass, spf: None, dkim: None, dmarc: None });
        assert!(!verdicts.is_authenticated());
    }

    const SES_RECEIVED: &str = "Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n by inbound-smtp.eu-west-1.amazonaws.com with SMTP id abc for mail2sms@example.org;\r\n Fri, 24 May 2030 09:00:05 +0000 (UTC)\r\n";
    const SENDER_RECEIVED: &str = "Received: from pc (unknown [203.0.113.9]) by mail.example.com with ESMTPSA id 42;\r\n Fri, 24 May 2030 11:00:03 +0200\r\n";

    #[test]
    fn received_spf_counts_only_when_ses_wrote_it() {
        let spf_only = "Authentication-Results: amazonses.com; dkim=none; dmarc=none header.from=example.com;\r\n";
        let softfail = "Received-SPF: softfail (spfCheck: transitioning domain of example.com does not designate 192.0.2.1 as permitted sender) client-ip=192.0.2.1;\r\n";
        let forged =
            "Received-SPF: pass (mx.example.net: domain of example.com designates 203.0.113.9 as permitted sender)\r\n";
        let spf = |headers: String| read(format!("{headers}Subject: x\r\n\r\n").as_bytes()).verdicts.spf;

        assert_eq!(spf(format!("{SES_RECEIVED}{softfail}{spf_only}{SENDER_RECEIVED}")), Some(Verdict::Fail));
        assert_eq!(
            spf(format!("{SES_RECEIVED}{spf_only}{SENDER_RECEIVED}{forged}")),
            None,
            "below the sender's Received"
        );
        assert_eq!(spf(format!("{SENDER_RECEIVED}{forged}")), None, "the topmost Received is not SES's");
        assert_eq!(spf(forged.to_owned()), None, "no Received at all");
        let with_spf = "Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=example.com;\r\n";
        assert_eq!(
            spf(format!("{SES_RECEIVED}{softfail}{with_spf}")),
            Some(Verdict::Pass),
            "the SES result comes first"
        );
    }

    /// What SES's trace fields of a raw message say.
    fn trace(raw: &str) -> SesTrace {
        let message = mail_parser::MessageParser::new().parse(raw.as_bytes()).expect("an email");
        SesTrace::from_headers(message.headers(), raw.as_bytes())
    }

    #[test]
    fn the_return_path_counts_only_above_ses_s_own_received() {
        let ses = "Return-Path: <bounce@mail.example.com>\r\n";
        let forged = "Return-Path: <ceo@victim.example>\r\n";
        let return_path = |headers: String| trace(&format!("{headers}Subject: x\r\n\r\n")).return_path;
        assert_eq!(
            return_path(format!("{ses}{SES_RECEIVED}{SENDER_RECEIVED}{forged}")).as_deref(),
            Some("<bounce@mail.example.com>")
        );
        assert_eq!(return_path(format!("{SES_RECEIVED}{forged}{SENDER_RECEIVED}")), None, "below SES's Received");
        assert_eq!(return_path(format!("{forged}{SENDER_RECEIVED}")), None, "the topmost Received is not SES's");
        assert_eq!(return_path(forged.to_owned()), None, "no Received at all");
    }

    #[test]
    fn ses_s_trace_is_what_ses_wrote_and_nothing_below() {
        let stored = trace(&String::from_utf8_lossy(fixture!("ses-stored")));
        assert!(stored.results.as_ref().is_some_and(|results| results.is_by(SES_AUTHSERV_ID)));
        assert!(
            stored.received_spf.as_deref().is_some_and(|spf| spf.contains("envelope-from=claire.roux@example.com"))
        );
        assert_eq!(stored.return_path.as_deref(), Some("<claire.roux@example.com>"));
        let forged = trace(&String::from_utf8_lossy(fixture!("ses-stored-forged-authentication")));
        assert_eq!((forged.results, forged.received_spf), (None, None), "written by the sender's side");
    }

    #[test]
    fn the_topmost_ses_authentication_results_wins_over_a_forged_one_below() {
        let raw = format!(
            "{SES_RECEIVED}Authentication-Results: amazonses.com; spf=fail; dkim=fail; dmarc=fail\r\n\
             {SENDER_RECEIVED}Authentication-Results: amazonses.com; spf=pass; dkim=pass; dmarc=pass\r\nSubject: x\r\n\r\n"
        );
        let verdicts = read(raw.as_bytes()).verdicts;
        assert_eq!(
            (verdicts.spf, verdicts.dkim, verdicts.dmarc),
            (Some(Verdict::Fail), Some(Verdict::Fail), Some(Verdict::Fail))
        );
        assert!(!verdicts.is_authenticated());
    }

    #[test]
    fn authentication_results_are_read_through_comments_quotes_and_versions() {
        let verdicts = ses_authentication_results(
            "AmazonSES.com 1; spf=pass (comment; with (nested; ) semicolons) smtp.mailfrom=\"a;b\"@example.com;\r\n \
             dkim/1=fail header.i=@old.example.com; dkim = pass header.i=@example.com; dmarc=none",
        );
        let verdicts = verdicts.expect("amazonses.com is SES");
        assert_eq!(
            (verdicts.spf, verdicts.dkim, verdicts.dmarc),
            (Some(Verdict::Pass), Some(Verdict::Pass), Some(Verdict::Gray))
        );
        assert_eq!(ses_authentication_results("amazonses.com; none"), Some(Verdicts::default()));
        assert_eq!(ses_authentication_results("amazonses.com.example.net; spf=pass"), None);
        assert_eq!(ses_authentication_results("mx.example.net; spf=pass (amazonses.com)"), None);
        assert_eq!(ses_authentication_results(""), None);
    }

    #[test]
    fn verdicts_read_ses_statuses_and_authentication_results() {
        let cases = [
            ("PASS", Some(Verdict::Pass)),
            ("pass", Some(Verdict::Pass)),
            ("FAIL", Some(Verdict::Fail)),
            ("softfail", Some(Verdict::Fail)),
            ("GRAY", Some(Verdict::Gray)),
            ("neutral", Some(Verdict::Gray)),
            ("none", Some(Verdict::Gray)),
            ("TempError", Some(Verdict::Gray)),
            ("permerror", Some(Verdict::Gray)),
            ("PROCESSING_FAILED", Some(Verdict::ProcessingFailed)),
            ("DISABLED", Some(Verdict::Disabled)),
            (" PASS ", Some(Verdict::Pass)),
            ("passed", None),
            ("", None),
        ];
        for (status, verdict) in cases {
            assert_eq!(Verdict::from_ses(status), verdict, "{status:?}");
        }
    }

    #[test]
    fn verdicts_serialise_as_ses_writes_them() {
        assert_eq!(serde_json::to_string(&Verdict::ProcessingFailed).expect("json"), "\"PROCESSING_FAILED\"");
        assert_eq!(serde_json::from_str::<Verdict>("\"GRAY\"").expect("json"), Verdict::Gray);
    }

    #[test]
    fn event_verdicts_take_precedence_field_by_field() {
        let event = Verdicts { spam: Some(Verdict::Fail), dkim: Some(Verdict::Gray), ..Verdicts::default() };
        let headers = Verdicts {
            spam: Some(Verdict::Pass),
            virus: Some(Verdict::Pass),
            spf: Some(Verdict::Pass),
            dkim: Some(Verdict::Pass),
            dmarc: None,
        };
        assert_eq!(
            event.or(headers),
            Verdicts {
                spam: Some(Verdict::Fail),
                virus: Some(Verdict::Pass),
                spf: Some(Verdict::Pass),
                dkim: Some(Verdict::Gray),
                dmarc: None,
            }
        );
    }

    #[test]
    fn one_passing_check_authenticates_and_one_failing_scan_condemns() {
        let only = |verdicts: Verdicts| verdicts;
        assert!(only(Verdicts { dmarc: Some(Verdict::Pass), ..Verdicts::default() }).is_authenticated());
        assert!(
            only(Verdicts { dkim: Some(Verdict::Pass), spf: Some(Verdict::Fail), ..Verdicts::default() })
                .is_authenticated()
        );
        assert!(
            !only(Verdicts { spf: Some(Verdict::Gray), spam: Some(Verdict::Pass), ..Verdicts::default() })
                .is_authenticated()
        );
        assert!(!Verdicts::default().is_authenticated());
    }
}
