//! Whether the From of an email is proven, DMARC-style: not that *something* passed (SES's
//! verdicts say only that), but that what passed speaks for the From's domain.
//!
//! A sender is authenticated when the From header is exactly one mailbox and one of these holds
//! (RFC 7489, relaxed alignment: two domains are aligned when they have the same
//! [organizational domain](organizational_domain)):
//! - SES's DMARC result for the message is `pass` (for the From's domain, when it names one);
//! - SPF passed for an envelope domain (`smtp.mailfrom`, SES's `envelope-from`, or the
//!   `helo` domain when the envelope sender is null) aligned with the From's domain;
//! - a DKIM signature verified for a `d=` (`header.d`, or the domain of `header.i`, which is
//!   all SES writes) aligned with the From's domain.
//!
//! Only what SES wrote counts: the caller hands over the topmost Authentication-Results whose
//! authserv-id is SES's, SES's Received-SPF and SES's Return-Path, found as [`Verdicts`] finds
//! its own (a sender can write any of these headers below SES's). This module reads them; it
//! never looks for them.
//!
//! Domains are compared as written, lowercased: an internationalised domain written in Unicode
//! (`exemple-é.fr`, RFC 6532) and the same domain in punycode (`xn--exemple--9ya.fr`) are not
//! aligned. SES writes the domains of the envelope and of DKIM as the sender sent them (ASCII
//! on the wire), so a From in Unicode is at worst not authenticated, never wrongly so.
//!
//! [`Verdicts`]: super::Verdicts

use psl::Psl;
use serde::{Deserialize, Serialize};

use super::{Author, Verdict};

/// The keys a Received-SPF header carries after its result (RFC 7208, 9.1). SES writes them into
/// its Authentication-Results too, as statements of their own after `spf=…`
/// (`spf=pass (…) client-ip=192.0.2.1; envelope-from=a@example.com; helo=mx.example.com;`):
/// they belong to the SPF result before them.
const RECEIVED_SPF_KEYS: [&str; 7] =
    ["client-ip", "envelope-from", "helo", "receiver", "identity", "mechanism", "problem"];

/// The properties naming the envelope sender (MAIL FROM) an SPF result is about: RFC 8601's
/// `smtp.mailfrom`, SES's and Received-SPF's `envelope-from`, and the older `smtp.mail`.
const ENVELOPE_KEYS: [&str; 3] = ["smtp.mailfrom", "envelope-from", "smtp.mail"];

/// The properties naming the HELO identity, which SPF checks when the envelope sender is null.
const HELO_KEYS: [&str; 2] = ["smtp.helo", "helo"];

/// The organizational domain of a domain name (RFC 7489, 3.2): its public suffix, by the Public
/// Suffix List, plus one label. `mail.shop.example.co.uk` gives `example.co.uk`;
/// `a.github.io` gives `a.github.io`, the list's private section (suffixes under which
/// strangers register names: `github.io`, `blogspot.com`…) counting as well, so two GitHub Pages
/// sites are never aligned; a domain that is itself a public suffix (`co.uk`) is its own.
/// An unknown top-level domain counts as a public suffix (the list's `*` rule).
///
/// The name is read trimmed, one trailing dot removed, lowercased; Unicode labels are kept as
/// they are and punycode ones too (the list knows both spellings of its suffixes), never
/// converted one to the other. `None` when it is not a domain name: empty, an empty label, a
/// character other than letters, digits, `-` and `_`, an IP address or a domain literal.
pub fn organizational_domain(domain: &str) -> Option<String> {
    let name = normalized_domain(domain)?;
    let registrable = psl::List.domain(name.as_bytes()).and_then(|found| std::str::from_utf8(found.as_bytes()).ok());
    Some(registrable.map_or_else(|| name.clone(), str::to_owned))
}

/// Relaxed alignment: both are domain names with the same [`organizational_domain`].
pub fn aligned(a: &str, b: &str) -> bool {
    match (organizational_domain(a), organizational_domain(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// A domain name trimmed, without its trailing dot, lowercased; `None` when it is not one (see
/// [`organizational_domain`]).
fn normalized_domain(domain: &str) -> Option<String> {
    let domain = domain.trim();
    let name = domain.strip_suffix('.').unwrap_or(domain).to_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty() && label.chars().all(|character| character.is_alphanumeric() || "-_".contains(character))
    };
    let top = name.rsplit('.').next().unwrap_or_default();
    let is_ip = top.bytes().all(|byte| byte.is_ascii_digit());
    (name.split('.').all(label_ok) && !is_ip).then_some(name)
}

/// The domain an identity names: after the last `@` of an address (angle brackets removed), or
/// the identity itself when it has no `@` (`smtp.mailfrom` may be a bare domain, `helo` is
/// one). `None` for a null sender (`<>`, empty, or an address ending with `@`).
fn identity_domain(identity: &str) -> Option<&str> {
    let identity = identity.trim();
    let identity = identity.strip_prefix('<').and_then(|inner| inner.strip_suffix('>')).unwrap_or(identity);
    let domain = identity.rsplit_once('@').map_or(identity, |(_, domain)| domain).trim();
    (!domain.is_empty()).then_some(domain)
}

/// One result of an Authentication-Results header (RFC 8601 `resinfo`): `method=result`, then
/// its properties (`ptype.property=value`, and `reason=`), with the comments around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodResult {
    /// The method, lowercased, without its version: `spf`, `dkim`, `dmarc`…
    pub method: String,
    /// The result word, lowercased: `pass`, `fail`, `softfail`, `none`…
    pub result: String,
    /// The properties in the order written, names lowercased, values unquoted.
    pub properties: Vec<(String, String)>,
    /// The text of the comments written among them, outer parentheses removed.
    pub comments: Vec<String>,
}

impl MethodResult {
    /// The result as a [`Verdict`] (`softfail` is Fail, `neutral`, `none`… are Gray).
    pub fn verdict(&self) -> Option<Verdict> {
        Verdict::from_ses(&self.result)
    }

    /// The values of a property, in the order written (`name` compared case-insensitively).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.properties.iter().filter(move |(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The first value of a property.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    fn passed(&self) -> bool {
        self.verdict() == Some(Verdict::Pass)
    }
}

/// An Authentication-Results header value, read (RFC 8601): the authserv-id, then each result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthenticationResults {
    /// Who wrote it, as written (without the optional version that may follow it).
    pub authserv_id: String,
    /// Every result, in the order written; several of one method are kept (one per DKIM
    /// signature, say).
    pub results: Vec<MethodResult>,
}

impl AuthenticationResults {
    /// Reads a header value, unfolded or not. Comments (nested, holding `;` or `=`) are set
    /// aside and never read as results or properties; quoted strings may hold `;` and spaces;
    /// `method = result` may have spaces around `=`; method names and results are read in any
    /// case; the `none` of a header without results gives no result; a statement that is not
    /// `method=result` is skipped. SES's own shape, where `client-ip=`, `envelope-from=`,
    /// `helo=` come as statements of their own after `spf=…`, is read as properties of that SPF
    /// result. `None` when there is no authserv-id.
    pub fn parse(value: &str) -> Option<AuthenticationResults> {
        let mut statements = statements(value).into_iter();
        let authserv_id = statements.next()?.text.split_whitespace().next()?.to_owned();
        let mut results: Vec<MethodResult> = Vec::new();
        for statement in statements {
            let mut pairs = pairs(&statement.text).into_iter();
            let Some((method, Some(result))) = pairs.next() else { continue };
            let method = method.split('/').next().unwrap_or_default().trim().to_ascii_lowercase();
            if method.is_empty() {
                continue;
            }
            let properties = pairs.filter_map(|(key, value)| Some((key.to_ascii_lowercase(), value?)));
            if RECEIVED_SPF_KEYS.contains(&method.as_str()) {
                if let Some(spf) = results.last_mut().filter(|last| last.method == "spf") {
                    spf.properties.push((method, result));
                    spf.properties.extend(properties);
                    spf.comments.extend(statement.comments);
                }
                continue;
            }
            results.push(MethodResult {
                method,
                result: result.to_ascii_lowercase(),
                properties: properties.collect(),
                comments: statement.comments,
            });
        }
        Some(AuthenticationResults { authserv_id, results })
    }

    /// Whether it was written by that authserv-id (compared case-insensitively).
    pub fn is_by(&self, authserv_id: &str) -> bool {
        self.authserv_id.eq_ignore_ascii_case(authserv_id)
    }

    /// The results of one method (`spf`, `dkim`, `dmarc`…), in the order written.
    pub fn of<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'a MethodResult> + 'a {
        self.results.iter().filter(move |result| result.method.eq_ignore_ascii_case(method))
    }
}

/// Reads a Received-SPF header value (RFC 7208, 9.1: `result (comment) key=value; key=value…`)
/// as an `spf` result whose properties are its key-value pairs. `None` without a result word.
pub fn parse_received_spf(value: &str) -> Option<MethodResult> {
    let mut statements = statements(value).into_iter();
    let first = statements.next()?;
    let mut words = pairs(&first.text).into_iter();
    let (result, None) = words.next()? else { return None };
    let mut spf = MethodResult {
        method: "spf".to_owned(),
        result: result.to_ascii_lowercase(),
        properties: Vec::new(),
        comments: first.comments,
    };
    let rest = statements.flat_map(|statement| pairs(&statement.text));
    spf.properties.extend(words.chain(rest).filter_map(|(key, value)| Some((key.to_ascii_lowercase(), value?))));
    Some(spf)
}

/// The policy a domain publishes for mail that fails DMARC (its `p=` tag, or the one SES's
/// receipt gives as `dmarcPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DmarcPolicy {
    None,
    Quarantine,
    Reject,
}

impl DmarcPolicy {
    /// Reads `none`, `quarantine` or `reject`, in any case (SES's receipt writes them lowercase,
    /// Authentication-Results comments often uppercase). `None` for anything else.
    pub fn from_ses(value: &str) -> Option<DmarcPolicy> {
        match value.trim().to_ascii_lowercase().as_str() {
            "none" => Some(DmarcPolicy::None),
            "quarantine" => Some(DmarcPolicy::Quarantine),
            "reject" => Some(DmarcPolicy::Reject),
            _ => None,
        }
    }

    /// The domain asks receivers to refuse or quarantine what fails: such mail is dropped.
    pub fn is_enforced(self) -> bool {
        matches!(self, DmarcPolicy::Quarantine | DmarcPolicy::Reject)
    }

    /// The policy a DMARC result records: its `polrec.p` property (DMARCbis: the `p=` of the
    /// policy record found) or `policy.dmarc` (written by some receivers), else a `p=` in its
    /// comments, as OpenDMARC, Microsoft and others write it
    /// (`dmarc=fail (p=REJECT sp=REJECT pct=100)`).
    fn recorded_in(dmarc: &MethodResult) -> Option<DmarcPolicy> {
        let property = dmarc.value("polrec.p").or_else(|| dmarc.value("policy.dmarc"));
        property.and_then(DmarcPolicy::from_ses).or_else(|| {
            dmarc.comments.iter().flat_map(|comment| comment.split([' ', '\t', ',', ';'])).find_map(|word| {
                let (tag, value) = word.split_once('=')?;
                tag.eq_ignore_ascii_case("p").then(|| DmarcPolicy::from_ses(value)).flatten()
            })
        })
    }
}

/// What proved the From's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignedBy {
    /// DMARC passed.
    Dmarc,
    /// SPF passed for an envelope domain aligned with the From's.
    Spf,
    /// A DKIM signature verified for a domain aligned with the From's.
    Dkim,
}

/// Whether the From of an email is proven, and what its domain's DMARC says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// What proved the From's domain; `None` when nothing aligned passed, or the From is not
    /// exactly one mailbox with a domain name.
    pub aligned_by: Option<AlignedBy>,
    /// SES's DMARC result (a pass among several wins), whatever the From.
    pub dmarc: Option<Verdict>,
    /// The policy SES's DMARC result records, if it does.
    pub dmarc_policy: Option<DmarcPolicy>,
}

impl Authentication {
    /// Reads the authentication of an email from what SES wrote into it:
    /// - `from`: the From header, read strictly; only [`Author::Mailbox`] can be authenticated;
    /// - `ses_results`: the topmost Authentication-Results whose authserv-id is SES's, and no
    ///   other (the caller picks it; one a sender wrote must never come here);
    /// - `received_spf`: the value of the Received-SPF header SES wrote, read only when
    ///   `ses_results` has no SPF result, or its passing SPF result names no envelope;
    /// - `return_path`: the value of the Return-Path SES wrote (above its Received header), the
    ///   envelope sender of last resort.
    ///
    /// Authenticated when DMARC passed (and its `header.from`, if any, is the From's domain),
    /// or a passing SPF's envelope domains are all aligned with the From's domain (several
    /// envelope identities that disagree prove nothing), or a passing DKIM signature's domain
    /// is aligned with it. A result's properties are only ever read with that result: a
    /// failing SPF's envelope cannot lend itself to a passing one.
    pub fn read(
        from: &Author,
        ses_results: Option<&AuthenticationResults>,
        received_spf: Option<&str>,
        return_path: Option<&str>,
    ) -> Authentication {
        let results = ses_results.map_or(&[][..], |results| results.results.as_slice());
        let of = |method: &'static str| results.iter().filter(move |result| result.method == method);
        let dmarc = of("dmarc").find(|result| result.passed()).or_else(|| of("dmarc").next());
        let mut authentication = Authentication {
            aligned_by: None,
            dmarc: dmarc.and_then(MethodResult::verdict),
            dmarc_policy: dmarc.and_then(DmarcPolicy::recorded_in),
        };
        let Some(from_domain) = from.address().and_then(identity_domain).and_then(normalized_domain) else {
            return authentication;
        };
        let received_spf = received_spf.and_then(parse_received_spf).filter(MethodResult::passed);
        let dmarc_aligned = dmarc.is_some_and(|dmarc| {
            dmarc.passed()
                && dmarc
                    .value("header.from")
                    .is_none_or(|domain| normalized_domain(domain).as_ref() == Some(&from_domain))
        });
        let spf_aligned = || match of("spf").next() {
            None => received_spf.as_ref().is_some_and(|spf| spf_is_aligned(spf, None, return_path, &from_domain)),
            Some(_) => of("spf")
                .filter(|result| result.passed())
                .any(|spf| spf_is_aligned(spf, received_spf.as_ref(), return_path, &from_domain)),
        };
        let dkim_aligned = || {
            of("dkim").filter(|result| result.passed()).any(|dkim| {
                let signer = dkim.value("header.d").or_else(|| dkim.value("header.i").and_then(identity_domain));
                signer.is_some_and(|signer| aligned(signer, &from_domain))
            })
        };
        authentication.aligned_by = if dmarc_aligned {
            Some(AlignedBy::Dmarc)
        } else if spf_aligned() {
            Some(AlignedBy::Spf)
        } else if dkim_aligned() {
            Some(AlignedBy::Dkim)
        } else {
            None
        };
        authentication
    }

    /// The From is proven: DMARC passed, or an aligned SPF or DKIM did.
    pub fn is_authenticated(&self) -> bool {
        self.aligned_by.is_some()
    }

    /// DMARC failed and the From's domain asks for such mail to be rejected or quarantined: the
    /// email is dropped like spam.
    pub fn fails_enforced_dmarc(&self) -> bool {
        self.dmarc == Some(Verdict::Fail) && self.dmarc_policy.is_some_and(DmarcPolicy::is_enforced)
    }

    /// The authentication read from the headers, with what SES's receipt (the event of the
    /// receipt rule's Lambda action) says of DMARC on top: its verdict and its `dmarcPolicy`
    /// take precedence over the headers' when given. SES's DMARC verdict is about the From's
    /// domain: a `PASS` authenticates a From that is exactly one mailbox with a domain name;
    /// any other verdict withdraws an authentication the headers owed to DMARC (the two come
    /// from the same evaluation and should agree; when they do not, the receipt wins and the
    /// sender is not taken at its word), while one they owed to an aligned SPF or DKIM stands.
    /// `None`s (an S3 notification carries no verdict) change nothing.
    pub fn with_receipt(self, from: &Author, dmarc: Option<Verdict>, policy: Option<DmarcPolicy>) -> Authentication {
        let has_domain = from.address().and_then(identity_domain).and_then(normalized_domain).is_some();
        let aligned_by = match dmarc {
            Some(Verdict::Pass) if has_domain => Some(self.aligned_by.unwrap_or(AlignedBy::Dmarc)),
            Some(_) if self.aligned_by == Some(AlignedBy::Dmarc) => None,
            _ => self.aligned_by,
        };
        Authentication { aligned_by, dmarc: dmarc.or(self.dmarc), dmarc_policy: policy.or(self.dmarc_policy) }
    }
}

/// Whether a domain name is itself a public suffix (`com`, `co.uk`, `github.io`…, or an unknown
/// top-level domain): a name under which strangers register theirs, never one an account may
/// allow as a whole. `false` for what is not a domain name.
pub fn is_public_suffix(domain: &str) -> bool {
    normalized_domain(domain).is_some_and(|name| {
        let suffix = psl::List.suffix(name.as_bytes());
        suffix.is_some_and(|suffix| suffix.as_bytes() == name.as_bytes())
    })
}

/// Whether a passing SPF result speaks for the From's domain: the envelope identities it names
/// (or, when it names none, those of SES's passing Received-SPF, then SES's Return-Path); when
/// the envelope sender is null, its HELO identities. There must be at least one, and all must
/// be aligned with `from_domain`.
fn spf_is_aligned(
    spf: &MethodResult,
    received_spf: Option<&MethodResult>,
    return_path: Option<&str>,
    from_domain: &str,
) -> bool {
    let envelope = |result: &MethodResult| -> Vec<String> {
        ENVELOPE_KEYS.iter().flat_map(|key| result.values(key)).map(str::to_owned).collect()
    };
    let mut identities = envelope(spf);
    let mut helo_source = spf;
    if identities.is_empty()
        && let Some(received) = received_spf
    {
        identities = envelope(received);
        helo_source = received;
    }
    if identities.is_empty() {
        identities.extend(return_path.map(str::to_owned));
    }
    let mut domains: Vec<&str> = identities.iter().filter_map(|identity| identity_domain(identity)).collect();
    if domains.is_empty() && !identities.is_empty() {
        domains = HELO_KEYS.iter().flat_map(|key| helo_source.values(key)).filter_map(identity_domain).collect();
    }
    !domains.is_empty() && domains.iter().all(|domain| aligned(domain, from_domain))
}

/// A statement of a header value: its text, comments replaced by a space, and the comments.
#[derive(Debug, Default)]
struct Statement {
    text: String,
    comments: Vec<String>,
}

/// Splits a header value on the `;` outside quoted strings and comments; comments (which nest,
/// and may hold `;`, quotes and quoted pairs) are taken out of the text into `comments`. Line
/// breaks (of a folded value) become spaces. An unclosed comment or quote runs to the end.
fn statements(value: &str) -> Vec<Statement> {
    let mut statements = Vec::new();
    let mut current = Statement::default();
    let mut comment = String::new();
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for character in value.chars().map(|character| if matches!(character, '\r' | '\n') { ' ' } else { character }) {
        if depth > 0 {
            match character {
                _ if escaped => {
                    escaped = false;
                    comment.push(character);
                }
                '\\' => escaped = true,
                '(' => {
                    depth += 1;
                    comment.push(character);
                }
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        current.comments.push(std::mem::take(&mut comment).trim().to_owned());
                        current.text.push(' ');
                    } else {
                        comment.push(character);
                    }
                }
                _ => comment.push(character),
            }
            continue;
        }
        if quoted {
            current.text.push(character);
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match character {
            '"' => {
                quoted = true;
                current.text.push(character);
            }
            '(' => depth = 1,
            ';' => statements.push(std::mem::take(&mut current)),
            _ => current.text.push(character),
        }
    }
    if depth > 0 {
        current.comments.push(comment.trim().to_owned());
    }
    statements.push(current);
    statements
}

/// The words of a statement's text as `key=value` pairs (spaces allowed around `=`), or a key
/// alone for a word without `=`. A key ends at a space or `=`; a value ends at a space, and may
/// hold `=` (base64) and quoted strings (`"a;b c"@example.com`). A value that is one quoted
/// string is unquoted.
fn pairs(text: &str) -> Vec<(String, Option<String>)> {
    let mut pairs = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let key_len = word_len(rest, true);
        let (key, after) = rest.split_at(key_len);
        let after = after.trim_start();
        match after.strip_prefix('=') {
            Some(value) => {
                let value = value.trim_start();
                let value_len = word_len(value, false);
                pairs.push((key.to_owned(), Some(unquoted(&value[..value_len]))));
                rest = value[value_len..].trim_start();
            }
            None if key_len == 0 => rest = &after[after.chars().next().map_or(0, char::len_utf8)..],
            None => {
                pairs.push((key.to_owned(), None));
                rest = after;
            }
        }
    }
    pairs
}

/// The length of the word `text` opens with: up to whitespace (or `=`, for a key) outside
/// quoted strings.
fn word_len(text: &str, key: bool) -> usize {
    let mut quoted = false;
    let mut escaped = false;
    for (index, character) in text.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '=' if key && !quoted => return index,
            space if space.is_whitespace() && !quoted => return index,
            _ => {}
        }
    }
    text.len()
}

/// A value that is exactly one quoted string, without its quotes and quoted pairs; any other
/// value as written.
fn unquoted(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|inner| inner.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut text = String::with_capacity(inner.len());
    let mut escaped = false;
    for character in inner.chars() {
        match character {
            _ if escaped => {
                escaped = false;
                text.push(character);
            }
            '\\' => escaped = true,
            // A quote inside: the value was not one quoted string (`"a"@"b"`).
            '"' => return value.to_owned(),
            _ => text.push(character),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::mail::testing::read;

    fn results(value: &str) -> AuthenticationResults {
        AuthenticationResults::parse(value).expect("an authserv-id")
    }

    fn mailbox(address: &str) -> Author {
        Author::Mailbox(address.to_owned())
    }

    /// The authentication of a From given SES's Authentication-Results alone.
    fn authenticate(from: &str, ses: &str) -> Authentication {
        Authentication::read(&mailbox(from), Some(&results(ses)), None, None)
    }

    #[test]
    fn the_organizational_domain_is_the_public_suffix_and_one_label() {
        for (domain, organizational) in [
            ("mail.shop.example.co.uk", "example.co.uk"),
            ("example.co.uk", "example.co.uk"),
            ("mail.example.com", "example.com"),
            ("a.b.c.example.fr", "example.fr"),
            ("example.com", "example.com"),
            ("com", "com"),
            ("co.uk", "co.uk"),
            ("a.github.io", "a.github.io"),
            ("www.a.github.io", "a.github.io"),
            ("github.io", "github.io"),
            ("mail.example.unknowntld", "example.unknowntld"),
            ("shop.example.中国", "example.中国"),
            ("shop.example.xn--fiqs8s", "example.xn--fiqs8s"),
            ("_dmarc.example.com", "example.com"),
        ] {
            assert_eq!(organizational_domain(domain).as_deref(), Some(organizational), "{domain}");
        }
    }

    #[test]
    fn case_trailing_dots_and_spaces_do_not_matter() {
        assert_eq!(organizational_domain("MAIL.Example.COM.").as_deref(), Some("example.com"));
        assert_eq!(organizational_domain(" Mail.Shop.Example.CO.UK ").as_deref(), Some("example.co.uk"));
        assert_eq!(organizational_domain("ÉCOLE.Exemple.FR").as_deref(), Some("exemple.fr"));
        assert!(aligned("EXAMPLE.COM.", "mail.example.com"));
        assert!(aligned("example.com", "Example.Com"));
    }

    #[test]
    fn what_is_not_a_domain_name_has_no_organizational_domain() {
        for domain in [
            "",
            " ",
            ".",
            "..",
            "example..com",
            ".example.com",
            "example.com..",
            "[192.0.2.1]",
            "192.0.2.1",
            "a b.com",
            "a@b.com",
            "exa(mple).com",
            "::1",
        ] {
            assert_eq!(organizational_domain(domain), None, "{domain:?}");
            assert!(!aligned(domain, domain), "{domain:?}");
        }
    }

    #[test]
    fn relaxed_alignment_is_the_same_organizational_domain() {
        assert!(aligned("example.com", "example.com"));
        assert!(aligned("bounce.mail.example.com", "example.com"));
        assert!(aligned("a.example.co.uk", "b.example.co.uk"));
        assert!(!aligned("example.co.uk", "other.co.uk"), "co.uk is a public suffix");
        assert!(!aligned("example.com", "example.org"));
        assert!(!aligned("example.com", "com"));
        assert!(!aligned("victim.example", "attacker.example"), "example is an unknown TLD: one label suffix");
        assert!(!aligned("alice.github.io", "mallory.github.io"), "github.io is a private suffix");
        assert!(!aligned("example.com", "example.com.attacker.net"));
        assert!(!aligned("bücher.example", "xn--bcher-kva.example"), "IDNs are compared as written");
    }

    #[test]
    fn ses_authentication_results_are_read_with_spfs_envelope() {
        let value = "amazonses.com;\r\n spf=pass (spfCheck: domain of example.com designates 192.0.2.41 as permitted sender) client-ip=192.0.2.41; envelope-from=claire.roux@example.com; helo=mail-wr1-f41.example.com;\r\n dkim=pass header.i=@example.com;\r\n dmarc=pass header.from=example.com;";
        let parsed = results(value);
        assert!(parsed.is_by("AmazonSES.com"));
        let spf = parsed.of("spf").next().expect("spf");
        assert_eq!(spf.verdict(), Some(Verdict::Pass));
        assert_eq!(spf.value("envelope-from"), Some("claire.roux@example.com"));
        assert_eq!(spf.value("client-ip"), Some("192.0.2.41"));
        assert_eq!(spf.value("helo"), Some("mail-wr1-f41.example.com"));
        assert_eq!(spf.comments, ["spfCheck: domain of example.com designates 192.0.2.41 as permitted sender"]);
        assert_eq!(parsed.of("dkim").next().and_then(|dkim| dkim.value("header.i")), Some("@example.com"));
        assert_eq!(parsed.of("dmarc").next().and_then(|dmarc| dmarc.value("header.from")), Some("example.com"));
        assert_eq!(parsed.results.len(), 3, "the empty statement after the last ; is no result");
    }

    #[test]
    fn authentication_results_are_read_through_comments_quotes_case_and_versions() {
        let parsed = results(
            "mx.example.net 1; SPF=Pass (comment; with (nested; spf=fail) \\) semicolons) smtp.mailfrom=\"a;b c\"@example.com;\r\n \
             dkim/1=fail reason=\"bad signature\" header.d=old.example.com header.b=\"abc=\"; dkim = pass header.d=example.com header.b=xyz==; none; garbage; =pass",
        );
        assert_eq!(parsed.authserv_id, "mx.example.net");
        assert!(!parsed.is_by("amazonses.com"));
        let methods: Vec<(&str, &str)> =
            parsed.results.iter().map(|result| (result.method.as_str(), result.result.as_str())).collect();
        assert_eq!(methods, [("spf", "pass"), ("dkim", "fail"), ("dkim", "pass")]);
        let spf = &parsed.results[0];
        assert_eq!(spf.value("smtp.mailfrom"), Some("\"a;b c\"@example.com"));
        assert_eq!(spf.comments, ["comment; with (nested; spf=fail) ) semicolons"]);
        assert_eq!(parsed.results[1].value("reason"), Some("bad signature"));
        assert_eq!(parsed.results[1].value("header.b"), Some("abc="));
        assert_eq!(parsed.results[2].value("HEADER.D"), Some("example.com"));
        assert_eq!(parsed.results[2].value("header.b"), Some("xyz=="));
        assert_eq!(results("amazonses.com; none").results, []);
        assert_eq!(AuthenticationResults::parse(""), None);
        assert_eq!(AuthenticationResults::parse("  ; spf=pass"), None);
        assert_eq!(AuthenticationResults::parse("(only a comment)"), None);
    }

    #[test]
    fn received_spf_is_read_with_its_envelope() {
        let spf = parse_received_spf(
            "Pass (spfCheck: domain of example.com designates 192.0.2.41 as permitted sender) client-ip=192.0.2.41; envelope-from=claire.roux@example.com; helo=mx.example.com;",
        )
        .expect("a result");
        assert_eq!((spf.method.as_str(), spf.verdict()), ("spf", Some(Verdict::Pass)));
        assert_eq!(spf.value("envelope-from"), Some("claire.roux@example.com"));
        assert_eq!(spf.value("client-ip"), Some("192.0.2.41"));
        assert_eq!(parse_received_spf("softfail").and_then(|spf| spf.verdict()), Some(Verdict::Fail));
        assert_eq!(parse_received_spf(""), None);
        assert_eq!(parse_received_spf("key=value"), None);
    }

    #[test]
    fn dmarc_pass_authenticates() {
        let ses = "amazonses.com; spf=fail smtp.mailfrom=other.example; dkim=none; dmarc=pass header.from=example.com";
        let authentication = authenticate("marie@example.com", ses);
        assert_eq!(authentication.aligned_by, Some(AlignedBy::Dmarc));
        assert_eq!(authentication.dmarc, Some(Verdict::Pass));
        assert!(authentication.is_authenticated() && !authentication.fails_enforced_dmarc());
        assert!(authenticate("marie@example.com", "amazonses.com; dmarc=pass").is_authenticated(), "no header.from");
        assert!(
            authenticate("marie@Example.COM", "amazonses.com; dmarc=pass header.from=EXAMPLE.com.").is_authenticated()
        );
    }

    #[test]
    fn a_dmarc_pass_for_another_domain_proves_nothing() {
        let authentication =
            authenticate("ceo@victim.example", "amazonses.com; dmarc=pass header.from=attacker.example");
        assert!(!authentication.is_authenticated());
        assert_eq!(authentication.dmarc, Some(Verdict::Pass), "still reported");
    }

    #[test]
    fn a_forged_from_with_spf_pass_for_another_domain_is_not_authenticated() {
        let ses = "amazonses.com; spf=pass (spfCheck: domain of attacker.example designates 203.0.113.9 as permitted sender) client-ip=203.0.113.9; envelope-from=x@attacker.example; helo=mail.attacker.example; dkim=none; dmarc=fail header.from=victim.example;";
        let authentication = authenticate("ceo@victim.example", ses);
        assert_eq!(authentication.aligned_by, None);
        assert_eq!((authentication.dmarc, authentication.dmarc_policy), (Some(Verdict::Fail), None));
        assert!(!authentication.fails_enforced_dmarc(), "no policy recorded: not dropped");
    }

    #[test]
    fn a_forged_from_with_dkim_of_another_domain_is_not_authenticated() {
        let ses = "amazonses.com; spf=fail (spfCheck: domain of victim.example does not designate 203.0.113.9 as permitted sender) client-ip=203.0.113.9; envelope-from=ceo@victim.example; helo=mail.attacker.example; dkim=pass header.i=@attacker.example; dmarc=fail (p=REJECT sp=REJECT pct=100) header.from=victim.example;";
        let authentication = authenticate("ceo@victim.example", ses);
        assert_eq!(authentication.aligned_by, None);
        assert_eq!(authentication.dmarc_policy, Some(DmarcPolicy::Reject));
        assert!(authentication.fails_enforced_dmarc(), "dropped like spam");
    }

    #[test]
    fn an_aligned_subdomain_authenticates() {
        let spf = "amazonses.com; spf=pass client-ip=192.0.2.1; envelope-from=bounce+123@mail.example.com; dkim=none; dmarc=none";
        assert_eq!(authenticate("marie@example.com", spf).aligned_by, Some(AlignedBy::Spf));
        assert_eq!(authenticate("marie@shop.example.com", spf).aligned_by, Some(AlignedBy::Spf), "both subdomains");
        let dkim = "amazonses.com; spf=fail smtp.mailfrom=bounces.esp.example; dkim=pass header.i=@news.example.com; dmarc=none";
        assert_eq!(authenticate("marie@example.com", dkim).aligned_by, Some(AlignedBy::Dkim));
        let d = "amazonses.com; dkim=pass header.d=Example.Co.UK. header.i=@attacker.example";
        assert_eq!(authenticate("marie@mail.example.co.uk", d).aligned_by, Some(AlignedBy::Dkim), "header.d first");
    }

    #[test]
    fn one_aligned_signature_among_several_is_enough() {
        let ses = "amazonses.com; dkim=pass header.i=@amazonses.com; dkim=fail header.i=@example.com; dkim=pass header.i=@example.com";
        assert_eq!(authenticate("marie@example.com", ses).aligned_by, Some(AlignedBy::Dkim));
        let failing = "amazonses.com; dkim=pass header.i=@amazonses.com; dkim=fail header.i=@example.com";
        assert!(!authenticate("marie@example.com", failing).is_authenticated());
    }

    #[test]
    fn several_from_mailboxes_or_none_are_never_authenticated() {
        let ses = "amazonses.com; spf=pass envelope-from=marie@example.com; dkim=pass header.i=@example.com; dmarc=pass header.from=example.com";
        for from in [Author::Ambiguous, Author::Missing, mailbox("marie@[192.0.2.1]"), mailbox("marie@")] {
            let authentication = Authentication::read(&from, Some(&results(ses)), None, None);
            assert!(!authentication.is_authenticated(), "{from:?}");
            assert_eq!(authentication.dmarc, Some(Verdict::Pass));
        }
        let raw = format!("Authentication-Results: {ses}\r\nFrom: marie@example.com, ceo@victim.example\r\n\r\n");
        let from = read(raw.as_bytes()).from;
        assert!(!Authentication::read(&from, Some(&results(ses)), None, None).is_authenticated());
    }

    #[test]
    fn nothing_from_ses_proves_nothing() {
        let authentication = Authentication::read(&mailbox("marie@example.com"), None, None, None);
        assert_eq!(authentication, Authentication::default());
        assert!(!authentication.is_authenticated());
    }

    #[test]
    fn a_comment_naming_the_domain_is_neither_a_verdict_nor_an_envelope() {
        let ses = "amazonses.com; spf=fail (spfCheck: domain of example.com designates 192.0.2.1 as permitted sender; envelope-from=marie@example.com) envelope-from=x@attacker.example; dkim=none (dkim=pass header.i=@example.com)";
        assert!(!authenticate("marie@example.com", ses).is_authenticated());
    }

    #[test]
    fn a_failing_spf_cannot_lend_its_envelope_to_a_passing_one() {
        let ses = "amazonses.com; spf=fail smtp.mailfrom=marie@example.com; spf=pass; dkim=none";
        assert!(!authenticate("marie@example.com", ses).is_authenticated());
        let statement =
            "amazonses.com; spf=fail; envelope-from=marie@example.com; spf=pass smtp.mailfrom=x@attacker.example";
        assert!(!authenticate("marie@example.com", statement).is_authenticated());
    }

    #[test]
    fn an_envelope_quoting_a_second_one_does_not_split() {
        let ses =
            "amazonses.com; spf=pass envelope-from=\"x; envelope-from=marie@example.com\"@attacker.example; dkim=none";
        assert!(!authenticate("marie@example.com", ses).is_authenticated());
        let spf = results(ses);
        assert_eq!(spf.results[0].values("envelope-from").count(), 1);
    }

    #[test]
    fn envelope_identities_that_disagree_prove_nothing() {
        let ses = "amazonses.com; spf=pass smtp.mailfrom=x@attacker.example envelope-from=marie@example.com";
        assert!(!authenticate("marie@example.com", ses).is_authenticated());
    }

    #[test]
    fn a_null_envelope_sender_is_judged_by_its_helo() {
        let ses = "amazonses.com; spf=pass client-ip=192.0.2.1; envelope-from=<>; helo=mx.example.com";
        assert_eq!(authenticate("marie@example.com", ses).aligned_by, Some(AlignedBy::Spf));
        assert!(!authenticate("ceo@victim.example", ses).is_authenticated());
        let without_helo = "amazonses.com; spf=pass smtp.mailfrom=<>";
        assert!(!authenticate("marie@example.com", without_helo).is_authenticated());
    }

    #[test]
    fn received_spf_and_return_path_stand_in_for_a_missing_envelope() {
        let from = mailbox("marie@example.com");
        let no_spf = results("amazonses.com; dkim=none; dmarc=none");
        let passed =
            "pass (spfCheck: …) client-ip=192.0.2.1; envelope-from=bounce@mail.example.com; helo=mx.example.net;";
        let failed = "fail (spfCheck: …) client-ip=192.0.2.1; envelope-from=bounce@mail.example.com;";
        let read = |ses: &AuthenticationResults, received: Option<&str>, return_path: Option<&str>| {
            Authentication::read(&from, Some(ses), received, return_path).aligned_by
        };
        assert_eq!(read(&no_spf, Some(passed), None), Some(AlignedBy::Spf), "SES's Received-SPF alone");
        assert_eq!(read(&no_spf, Some(failed), None), None);
        assert_eq!(read(&no_spf, None, Some("<marie@example.com>")), None, "a Return-Path is no SPF result");
        let bare_pass = results("amazonses.com; spf=pass; dkim=none");
        assert_eq!(read(&bare_pass, Some(passed), None), Some(AlignedBy::Spf));
        assert_eq!(read(&bare_pass, Some(failed), Some("<bounce@example.com>")), Some(AlignedBy::Spf));
        assert_eq!(read(&bare_pass, None, Some("<x@attacker.example>")), None);
        assert_eq!(read(&bare_pass, None, Some("<>")), None);
        let failing = results("amazonses.com; spf=fail; dkim=none");
        assert_eq!(read(&failing, Some(passed), Some("<marie@example.com>")), None, "SES's own result wins");
    }

    #[test]
    fn the_dmarc_policy_is_read_from_properties_and_comments() {
        let policy = |ses: &str| authenticate("ceo@victim.example", ses).dmarc_policy;
        assert_eq!(
            policy("amazonses.com; dmarc=fail (p=REJECT sp=REJECT pct=100) header.from=victim.example"),
            Some(DmarcPolicy::Reject)
        );
        assert_eq!(
            policy("amazonses.com; dmarc=fail (p=quarantine dis=none) header.from=victim.example"),
            Some(DmarcPolicy::Quarantine)
        );
        assert_eq!(
            policy("amazonses.com; dmarc=fail (p=none sp=reject) header.from=victim.example"),
            Some(DmarcPolicy::None)
        );
        assert_eq!(
            policy("amazonses.com; dmarc=fail policy.dmarc=quarantine header.from=victim.example"),
            Some(DmarcPolicy::Quarantine)
        );
        assert_eq!(
            policy("amazonses.com; dmarc=fail polrec.p=reject polrec.domain=victim.example header.from=victim.example"),
            Some(DmarcPolicy::Reject)
        );
        assert_eq!(policy("amazonses.com; dmarc=fail (sp=reject) header.from=victim.example"), None, "sp= is not p=");
        assert_eq!(policy("amazonses.com; dmarc=fail header.from=victim.example"), None);
        let quarantined =
            authenticate("ceo@victim.example", "amazonses.com; dmarc=fail (p=quarantine) header.from=victim.example");
        assert!(quarantined.fails_enforced_dmarc());
        let passing =
            authenticate("ceo@victim.example", "amazonses.com; dmarc=pass (p=reject) header.from=victim.example");
        assert!(!passing.fails_enforced_dmarc(), "a pass is never dropped");
        let none = authenticate("ceo@victim.example", "amazonses.com; dmarc=fail (p=none) header.from=victim.example");
        assert!(!none.fails_enforced_dmarc());
    }

    #[test]
    fn dmarc_policies_read_as_ses_writes_them() {
        assert_eq!(DmarcPolicy::from_ses("reject"), Some(DmarcPolicy::Reject));
        assert_eq!(DmarcPolicy::from_ses(" QUARANTINE "), Some(DmarcPolicy::Quarantine));
        assert_eq!(DmarcPolicy::from_ses("none"), Some(DmarcPolicy::None));
        assert_eq!(DmarcPolicy::from_ses("rejected"), None);
        assert_eq!(serde_json::to_string(&DmarcPolicy::Quarantine).expect("json"), "\"quarantine\"");
        assert!(DmarcPolicy::Reject.is_enforced() && DmarcPolicy::Quarantine.is_enforced());
        assert!(!DmarcPolicy::None.is_enforced());
    }

    #[test]
    fn the_stored_ses_message_is_authenticated_by_dmarc() {
        let raw = fixture!("ses-stored");
        let mail = read(raw);
        let text = String::from_utf8_lossy(raw);
        let value = text
            .lines()
            .skip_while(|line| !line.starts_with("Authentication-Results:"))
            .take_while(|line| line.starts_with("Authentication-Results:") || line.starts_with(' '))
            .collect::<Vec<_>>()
            .join("\r\n");
        let ses = results(value.trim_start_matches("Authentication-Results:"));
        assert!(ses.is_by("amazonses.com"));
        let authentication = Authentication::read(&mail.from, Some(&ses), None, None);
        assert_eq!(authentication.aligned_by, Some(AlignedBy::Dmarc));
        assert_eq!(ses.of("spf").next().and_then(|spf| spf.value("envelope-from")), Some("claire.roux@example.com"));
    }

    // ----- SES's receipt, on top of the headers -----

    #[test]
    fn the_receipts_dmarc_pass_authenticates_a_single_mailbox() {
        let nothing = Authentication::default();
        let pass = |from: &Author| nothing.with_receipt(from, Some(Verdict::Pass), None);
        assert_eq!(pass(&mailbox("marie@example.com")).aligned_by, Some(AlignedBy::Dmarc));
        for from in [Author::Ambiguous, Author::Missing, mailbox("marie@[192.0.2.1]"), mailbox("marie@")] {
            assert!(!pass(&from).is_authenticated(), "{from:?}");
            assert_eq!(pass(&from).dmarc, Some(Verdict::Pass));
        }
        let spf = authenticate("marie@example.com", "amazonses.com; spf=pass smtp.mailfrom=example.com; dmarc=none");
        let both = spf.with_receipt(&mailbox("marie@example.com"), Some(Verdict::Pass), None);
        assert_eq!(both.aligned_by, Some(AlignedBy::Spf), "what the headers proved stands");
    }

    #[test]
    fn the_receipts_dmarc_verdict_and_policy_take_precedence() {
        let from = mailbox("marie@example.com");
        let dmarc = authenticate("marie@example.com", "amazonses.com; dmarc=pass header.from=example.com");
        let failed = dmarc.with_receipt(&from, Some(Verdict::Fail), Some(DmarcPolicy::Reject));
        assert_eq!(failed.aligned_by, None, "a DMARC pass the receipt denies proves nothing");
        assert!(failed.fails_enforced_dmarc());
        let gray = dmarc.with_receipt(&from, Some(Verdict::Gray), None);
        assert_eq!((gray.aligned_by, gray.dmarc, gray.dmarc_policy), (None, Some(Verdict::Gray), None));
        let dkim = authenticate("marie@example.com", "amazonses.com; dkim=pass header.d=example.com; dmarc=none");
        let still = dkim.with_receipt(&from, Some(Verdict::Fail), Some(DmarcPolicy::None));
        assert_eq!(still.aligned_by, Some(AlignedBy::Dkim), "an aligned DKIM stands");
        assert!(!still.fails_enforced_dmarc());
        assert_eq!(dmarc.with_receipt(&from, None, None), dmarc, "an S3 notification says nothing");
        let quarantine = authenticate("ceo@victim.example", "amazonses.com; dmarc=fail (p=quarantine)");
        let policy = quarantine.with_receipt(&mailbox("ceo@victim.example"), None, Some(DmarcPolicy::None));
        assert!(!policy.fails_enforced_dmarc(), "the receipt's policy wins");
    }

    #[test]
    fn public_suffixes_are_known_from_the_list() {
        for suffix in ["com", "co.uk", "github.io", "CO.UK.", "unknowntld", "fr"] {
            assert!(is_public_suffix(suffix), "{suffix}");
        }
        for domain in ["example.com", "shop.example.co.uk", "alice.github.io", "", "a b", "[192.0.2.1]"] {
            assert!(!is_public_suffix(domain), "{domain}");
        }
    }

    proptest! {
        #[test]
        fn reading_any_header_value_never_panics(value in any::<String>()) {
            let parsed = AuthenticationResults::parse(&value);
            let _ = parse_received_spf(&value);
            if let Some(parsed) = parsed {
                let _ = Authentication::read(&mailbox("marie@example.com"), Some(&parsed), Some(&value), Some(&value));
            }
        }

        #[test]
        fn reading_any_authentication_results_shaped_value_never_panics(
            value in "[a-z.]{1,12}( [0-9])?(; ?[a-z/=().@\" ;-]{0,40}){0,6}",
        ) {
            let parsed = AuthenticationResults::parse(&value);
            prop_assert!(parsed.is_some());
        }

        #[test]
        fn the_organizational_domain_is_its_own(domain in "[a-zA-Z0-9.\u{e9}_-]{0,40}") {
            if let Some(organizational) = organizational_domain(&domain) {
                let again = organizational_domain(&organizational);
                prop_assert_eq!(again.as_ref(), Some(&organizational));
                prop_assert!(aligned(&domain, &organizational));
                let normalized = normalized_domain(&domain).expect("a domain");
                let parent = format!(".{organizational}");
                prop_assert!(normalized == organizational || normalized.ends_with(&parent), "{} {}", normalized, organizational);
            }
        }
    }
}
