//! Who is at the keyboard: passwords (Argon2id), session and CSRF tokens, cookies, and the
//! limits on login attempts. Nothing here logs; nothing here keeps a token in clear (the store
//! keys sessions and invitations by the SHA-256 of their token).

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The name of the session cookie and of the pre-session cookie that protects the login and
/// invitation forms (double submit: the form carries the same random value).
pub const SESSION_COOKIE: &str = "m2s_session";
pub const FORM_COOKIE: &str = "m2s_form";

/// How long a session lasts from its log in, whatever is done with it.
pub const SESSION_HOURS: i64 = 8;
/// How long an invitation link can be used (once).
pub const INVITATION_HOURS: i64 = 24;

/// Login attempts counted in each window of this many minutes: per login, and per client address.
pub const ATTEMPT_WINDOW_MINUTES: i64 = 15;
pub const ATTEMPTS_PER_LOGIN: u32 = 5;
pub const ATTEMPTS_PER_ADDRESS: u32 = 20;

/// A password is 10 to 128 characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why a password is refused, in the customer's (and the operator's) words.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Some(format!("a password has at least {MIN_PASSWORD_CHARS} characters"))
    } else if chars > MAX_PASSWORD_CHARS {
        Some(format!("a password has at most {MAX_PASSWORD_CHARS} characters"))
    } else if password.chars().any(char::is_control) {
        Some("a password holds no control character (no line break, no tab)".to_owned())
    } else {
        None
    }
}

/// The Argon2id hash of `password` (OWASP's parameters, argon2's defaults: 19 MiB, 2 passes), as
/// a PHC string that carries its salt and parameters.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2id with its default parameters")
        .to_string()
}

/// A hash no password matches, checked when the login is unknown or has no password, so that
/// the answer takes as long as for a real account: no login is told apart by timing.
static DECOY: LazyLock<String> = LazyLock::new(|| hash_password(&token()));

/// Whether `password` matches `hash` (a PHC string); a missing or unreadable hash matches
/// nothing, after the same work.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let decoy = DECOY.as_str();
    let (stored, real) = match hash.map(PasswordHash::new) {
        Some(Ok(parsed)) => (parsed, true),
        _ => (PasswordHash::new(decoy).expect("the decoy is a PHC string"), false),
    };
    Argon2::default().verify_password(password.as_bytes(), &stored).is_ok() && real
}

/// A new random token: 256 bits, as 64 lowercase hex digits.
pub fn token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps of a token: its SHA-256, in hex.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0 && !a.is_empty()
}

/// A `Set-Cookie` value: always `Secure; HttpOnly; SameSite=Strict`, for the whole site.
/// Browsers take `Secure` cookies from `http://localhost` and `http://127.0.0.1` (both are
/// "potentially trustworthy" origins), so the local server works with the same cookies.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; Secure; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that removes a cookie.
pub fn clear_cookie(name: &str) -> String {
    set_cookie(name, "", 0)
}

/// The value of the cookie `name` in a `Cookie` header, if it holds one made of token characters.
pub fn cookie<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The keys of the attempt counters of one try: the login's and the client address's, each in
/// its current window (hashed: no login or address is a key of the table).
pub fn attempt_keys(login: &str, address: &str, now: chrono::DateTime<chrono::Utc>) -> [(String, u32); 2] {
    let window = now.timestamp() / (ATTEMPT_WINDOW_MINUTES * 60);
    let login = token_digest(&login.to_ascii_lowercase());
    let address = token_digest(address);
    [
        (format!("attempts#login#{}#{window}", &login[..32]), ATTEMPTS_PER_LOGIN),
        (format!("attempts#address#{}#{window}", &address[..32]), ATTEMPTS_PER_ADDRESS),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_its_own_hash_only() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("correct horse batterY", Some(&hash)));
        assert!(!verify_password("anything at all", None));
        assert!(!verify_password("anything at all", Some("not a hash")));
        assert_ne!(hash, hash_password("correct horse battery"), "salted");
    }

    #[test]
    fn passwords_are_bounded() {
        assert!(password_problem("short").is_some());
        assert!(password_problem("line\nbreak in it").is_some());
        assert!(password_problem(&"x".repeat(129)).is_some());
        assert!(password_problem("a good long one").is_none());
    }

    #[test]
    fn cookies_are_read_strictly_and_set_safely() {
        let header = "a=1; m2s_session=abc123; other=x";
        assert_eq!(cookie(header, SESSION_COOKIE), Some("abc123"));
        assert_eq!(cookie("m2s_session=a%3Bb", SESSION_COOKIE), None);
        assert_eq!(cookie("m2s_session=", SESSION_COOKIE), None);
        let set = set_cookie(SESSION_COOKIE, "t", 60);
        for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attribute), "{set}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", ""), "an empty token proves nothing");
    }
}
