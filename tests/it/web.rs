//! The customer space (`mail2sms-web`) at the HTTP level: its router driven in-process
//! (`tower::ServiceExt::oneshot`) on the emulator's tables, as a browser would, cookies and
//! forms included. Every page and form, authorisation both ways (two customers, a parent and its
//! sub-account), CSRF refusals, escaping of what customers typed, login rate limits, credit
//! transfers, and sends from the web through the same pipeline as emails.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use mail2sms::aws::bootstrap;
use mail2sms::domain::account::{Account, AuthMode};
use mail2sms::domain::message::{Delivery, MessageState};
use mail2sms::domain::optout::{OptOutList, OptOutSource};
use mail2sms::ports::Ledger;
use mail2sms::tables;
use mail2sms::web::access::{ATTEMPTS_PER_ADDRESS, ATTEMPTS_PER_LOGIN, hash_password};
use mail2sms::web::settings::WebSettings;
use mail2sms::web::store::WebStore;
use mail2sms::web::{ClientAddress, Space, router};
use tower::ServiceExt;

use crate::helpers::{FUNCTION_ARN, World, admin, stderr};

const PASSWORD: &str = "correct horse battery";

/// A world with the customer space's table, and the space on it.
struct Site {
    world: World,
    app: axum::Router,
    store: WebStore,
}

impl Site {
    async fn new() -> Site {
        let world = World::new().await;
        let web_table = format!("{}-web", world.token);
        bootstrap::create_table(world.ledger.client(), &tables::WEB, &web_table).await.unwrap();
        let config = world.config.clone();
        let pairs = [
            ("ACCOUNTS_TABLE", config.accounts_table.clone()),
            ("MESSAGES_TABLE", config.messages_table.clone()),
            ("OPT_OUTS_TABLE", config.opt_outs_table.clone()),
            ("CONTACT_LISTS_TABLE", config.contact_lists_table.clone()),
            ("WEB_TABLE", web_table.clone()),
            ("OPERATOR_CONTACT", "credits@operator.example".to_owned()),
            ("MAIL_FUNCTION_ARN", FUNCTION_ARN.to_owned()),
        ];
        let mut settings =
            WebSettings::from_lookup(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())).unwrap();
        settings.gateway = Ok(config);
        let space = Space::new(settings, &world.sdk);
        let store = WebStore::new(&world.sdk, &web_table, &world.config.accounts_table);
        Site { app: router(Arc::new(space)), world, store }
    }

    /// An account with `credits` and the customer space's password; returns its API key.
    async fn customer(&self, login: &str, credits: u64) -> String {
        let key = self.world.account(login, credits).await;
        assert!(self.store.set_password_hash(login, &hash_password(PASSWORD)).await.unwrap());
        key
    }

    fn browser(&self, address: &str) -> Browser {
        Browser { app: self.app.clone(), cookies: HashMap::new(), address: address.to_owned() }
    }

    /// The account as it is now.
    async fn account(&self, login: &str) -> Account {
        self.world.ledger.account(login).await.unwrap().unwrap()
    }

    /// The numbers on the account's opt-out list, in E.164, by number.
    async fn opt_outs(&self, login: &str) -> Vec<String> {
        let list = OptOutList::Account(login.to_owned());
        let entries = self.world.ledger.opt_outs_of(&list).await.unwrap();
        entries.iter().map(|entry| entry.number.e164().to_owned()).collect()
    }

    /// An email from `login` through the gateway; returns its message id.
    async fn email(&self, subject: &str, body: &str) -> String {
        let id = self.world.receive(&self.world.email(subject, body)).await;
        self.world.gateway().handle(self.world.ses_event(&id), &self.world.invocation()).await.unwrap();
        id
    }
}

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

/// A browser: its cookie jar, and the address it connects from.
struct Browser {
    app: axum::Router,
    cookies: HashMap<String, String>,
    address: String,
}

impl Browser {
    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Page {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let request = request
            .header(header::COOKIE, cookie.join("; "))
            .extension(ClientAddress(self.address.clone()))
            .body(body)
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, _) = set.split_once(';').unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Page { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Request::get(path), Body::empty()).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        self.send(Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"), body.into())
            .await
    }

    async fn log_in(&mut self, login: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        let csrf = form.csrf();
        self.post("/login", &[("login", login), ("password", password), ("csrf", &csrf)]).await
    }

    /// Logs in, or fails the test.
    async fn signed_in(site: &Site, login: &str) -> Browser {
        let mut browser = site.browser("192.0.2.10");
        let page = browser.log_in(login, PASSWORD).await;
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/sends"), "{}", page.body);
        browser
    }

    /// The session's CSRF token, read from a page's form.
    async fn csrf(&mut self) -> String {
        self.get("/settings").await.csrf()
    }
}

#[tokio::test]
async fn a_customer_logs_in_with_its_password_sees_its_pages_and_logs_out() {
    let site = Site::new().await;
    site.customer("boutique", 10).await;
    let mut browser = site.browser("192.0.2.1");

    let page = browser.get("/sends").await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/login"), "no session, no page");
    let page = browser.log_in("boutique", "wrong password!").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("Wrong login or password."));
    let page = browser.log_in("nobody", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "an unknown login is told the same");
    assert!(page.body.contains("Wrong login or password."));

    let page = browser.log_in("boutique", PASSWORD).await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/sends"));
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("m2s_session="))
        .unwrap();
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    for path in ["/sends", "/stats", "/stats?by=month", "/credits", "/key", "/settings", "/send", "/subaccounts", "/"] {
        let page = browser.get(path).await;
        let page = if page.status == StatusCode::SEE_OTHER { browser.get(page.location()).await } else { page };
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(page.body.contains("boutique"), "{path}");
        let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(page.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert_eq!(page.headers.get(header::REFERRER_POLICY).unwrap(), "no-referrer");
        assert_eq!(page.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
        assert!(!page.body.contains("<script>") && !page.body.contains(" style="), "{path}: no inline script or style");
    }
    for asset in ["/assets/style.css", "/assets/app.js"] {
        assert_eq!(browser.get(asset).await.status, StatusCode::OK);
    }

    let page = browser.post("/logout", &[("csrf", "forged")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "a log out without the session's token is refused");
    let csrf = browser.csrf().await;
    let page = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/login"));
    assert_eq!(browser.get("/sends").await.status, StatusCode::SEE_OTHER, "the session is over");
}

#[tokio::test]
async fn log_out_everywhere_ends_every_session_of_the_login_only() {
    let site = Site::new().await;
    site.customer("boutique", 10).await;
    site.customer("other", 10).await;
    let mut phone = Browser::signed_in(&site, "boutique").await;
    let mut desktop = Browser::signed_in(&site, "boutique").await;
    let mut stranger = Browser::signed_in(&site, "other").await;
    let csrf = phone.csrf().await;
    let page = phone.post("/logout-everywhere", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(desktop.get("/sends").await.status, StatusCode::SEE_OTHER, "the other device is logged out too");
    assert_eq!(stranger.get("/sends").await.status, StatusCode::OK, "another login's sessions live on");
    let mut again = Browser::signed_in(&site, "boutique").await;
    assert_eq!(again.get("/sends").await.status, StatusCode::OK, "a new session works");
}

#[tokio::test]
async fn login_attempts_are_limited_per_login_and_per_address() {
    let site = Site::new().await;
    site.customer("boutique", 10).await;
    site.customer("other", 10).await;
    let mut attacker = site.browser("198.51.100.7");
    for _ in 0..ATTEMPTS_PER_LOGIN {
        assert_eq!(attacker.log_in("boutique", "guess guess guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let page = attacker.log_in("boutique", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    let page = site.browser("203.0.113.9").log_in("boutique", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "the login is limited from any address");

    let mut sprayer = site.browser("198.51.100.8");
    for i in 0..ATTEMPTS_PER_ADDRESS {
        let page = sprayer.log_in(&format!("user{i}"), "guess guess guess").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sprayer.log_in("other", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS, "the address is limited");
    let page = site.browser("198.51.100.9").log_in("other", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "another address may still log in to another login");
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_change_nothing() {
    let site = Site::new().await;
    let key = site.customer("boutique", 10).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    for (path, form) in [
        ("/key", vec![]),
        ("/settings", vec![("sender", "PIRATE"), ("timezone", ""), ("receipts", "all")]),
        ("/send", vec![("numbers", "0612345678"), ("text", "x")]),
        ("/subaccounts", vec![("login", "evil"), ("password", "0123456789ab")]),
        ("/settings/senders", vec![("auth", "sender"), ("allow", "evil@attacker.example.com")]),
        ("/settings/alerts", vec![("low_credit", "5"), ("contact", "evil@attacker.example.com")]),
        ("/settings/hours", vec![("marketing_hours", "ignore")]),
        ("/optouts", vec![("numbers", "0612345678")]),
        ("/optouts/remove", vec![("numbers", "0612345678")]),
        ("/optouts/import", vec![("csv", "0612345678")]),
        ("/logout-everywhere", vec![]),
    ] {
        for csrf in [None, Some("0".repeat(64))] {
            let mut fields = form.clone();
            if let Some(csrf) = &csrf {
                fields.push(("csrf", csrf));
            }
            let page = browser.post(path, &fields).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} with {csrf:?}");
        }
    }
    let account = site.world.ledger.account("boutique").await.unwrap().unwrap();
    assert_eq!(account.key_sha256, mail2sms::domain::request::ApiKey::new(key).sha256_hex(), "the key did not change");
    assert_eq!((account.sender, account.credits, account.sub_accounts.len()), (None, 10, 0));
    assert_eq!((account.auth, account.allowed_senders.len()), (AuthMode::Key, 0), "no sender allowed");
    assert_eq!((account.low_credit, account.contact, account.ignore_marketing_hours), (None, None, false));
    assert!(site.opt_outs("boutique").await.is_empty(), "no number listed");
    assert_eq!(browser.get("/sends").await.status, StatusCode::OK, "still logged in");

    // The login form's own token: a post from elsewhere (no form cookie) is refused.
    let mut bare = site.browser("192.0.2.50");
    let page = bare.post("/login", &[("login", "boutique"), ("password", PASSWORD), ("csrf", "abc")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sends_are_listed_filtered_and_shown_to_their_owner_only() {
    let site = Site::new().await;
    let key = site.customer("boutique", 20).await;
    let other_key = site.customer("other", 20).await;
    let sent = site.email(&format!("boutique@{key}|0612345678;0698765432"), "Bonjour").await;
    let refused = site.email(&format!("boutique@{key}|not a number"), "Bonjour").await;
    let theirs = site.email(&format!("other@{other_key}|0612345678"), "Secret").await;

    let mut browser = Browser::signed_in(&site, "boutique").await;
    let page = browser.get("/sends").await;
    assert!(page.body.contains(&sent) && page.body.contains(&refused), "{}", page.body);
    assert!(page.body.find(&refused) < page.body.find(&sent), "newest first");
    assert!(!page.body.contains(&theirs), "another customer's email is not listed");
    let page = browser.get("/sends?status=rejected").await;
    assert!(page.body.contains(&refused) && !page.body.contains(&sent));
    let today = Utc::now().date_naive();
    let page = browser.get(&format!("/sends?since={}&until={}", today.pred_opt().unwrap(), today)).await;
    assert!(page.body.contains(&sent));
    let page = browser.get("/sends?since=2020-01-01&until=2020-01-31").await;
    assert!(!page.body.contains(&sent), "another period");
    assert_eq!(browser.get("/sends?since=nonsense").await.status, StatusCode::BAD_REQUEST);

    let page = browser.get(&format!("/sends/{sent}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in ["+33612345678", "+33698765432", "sent", "Cost", "2 credits"] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let page = browser.get(&format!("/sends/{refused}")).await;
    assert!(page.body.contains("114"), "the refusal's code: {}", page.body);

    for other in [theirs.as_str(), "no-such-message", "reply-quota%23x"] {
        assert_eq!(browser.get(&format!("/sends/{other}")).await.status, StatusCode::NOT_FOUND, "{other}");
    }
    assert_eq!(browser.get("/sends?account=other").await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get("/stats?account=other").await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get("/credits?account=other").await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get("/statement.csv?month=2026-01&account=other").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_message_page_refreshes_itself_while_recipients_are_open() {
    let site = Site::new().await;
    let key = site.customer("boutique", 20).await;
    let id = site.email(&format!("boutique@{key}|0612345678"), "Bonjour").await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let page = browser.get(&format!("/sends/{id}")).await;
    assert!(page.body.contains("http-equiv=\"refresh\""), "sent, not yet delivered: it refreshes");
    let due = (Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d 09:30:00");
    let later = site.email(&format!("boutique@{key}|0612345678|date={due}"), "Plus tard").await;
    let page = browser.get(&format!("/sends/{later}")).await;
    assert!(!page.body.contains("http-equiv=\"refresh\""), "a scheduled email does not refresh for days");
    assert!(page.body.contains("Scheduled for") && page.body.contains("09:30:00"), "{}", page.body);
}

#[tokio::test]
async fn what_customers_typed_is_shown_as_text_never_run() {
    let site = Site::new().await;
    site.customer("boutique", 20).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let csrf = browser.csrf().await;
    let hostile = "<script>alert(1)</script> \"><img src=x onerror=alert(2)>";
    let numbers = "0612345678;\"><img src=x onerror=alert(3)>".to_owned();
    // Dated later, so that the record keeps the text for the message page.
    let due = (Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d 09:30:00").to_string();
    let page = browser
        .post("/send", &[("csrf", &csrf), ("numbers", &numbers), ("text", hostile), ("from", ""), ("date", &due)])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let id = page.body.split("/sends/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let record = site.world.record(&id).await;
    assert_eq!(record.login.as_deref(), Some("boutique"));
    assert_eq!(record.dropped_count, 1);

    let page = browser.get(&format!("/sends/{id}")).await;
    for raw in ["<script>alert(1)", "<img src=x", "\"><img"] {
        assert!(!page.body.contains(raw), "{raw} shown raw: {}", page.body);
    }
    assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "the text as text: {}", page.body);
    assert!(page.body.contains("&#60;img src=x onerror=alert(3)&#62;"), "the dropped number as text: {}", page.body);

    let page = browser
        .post(
            "/send",
            &[("csrf", &csrf), ("numbers", "0612345678"), ("text", "Hi"), ("from", "<b>X</b>"), ("date", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("109") && !page.body.contains("<b>X</b>"), "{}", page.body);
}

#[tokio::test]
async fn an_sms_sent_from_the_web_follows_the_pipeline_and_is_debited() {
    let site = Site::new().await;
    site.customer("boutique", 10).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let csrf = browser.csrf().await;

    let count = browser.post("/count", &[("csrf", &csrf), ("text", &"é".repeat(71))]).await;
    let count: serde_json::Value = serde_json::from_str(&count.body).unwrap();
    assert_eq!((count["encoding"].as_str(), count["parts"].as_u64()), (Some("gsm7"), Some(1)), "é is GSM-7");
    let count = browser.post("/count", &[("csrf", &csrf), ("text", &"€".repeat(81))]).await;
    let count: serde_json::Value = serde_json::from_str(&count.body).unwrap();
    assert_eq!(count["parts"], 2, "€ counts two septets: {count}");
    assert_eq!(browser.post("/count", &[("csrf", "x"), ("text", "a")]).await.status, StatusCode::FORBIDDEN);

    let form = [
        ("csrf", csrf.as_str()),
        ("numbers", "06 12 34 56 78; 06 98 76 54 32"),
        ("text", "Bonjour du web"),
        ("from", ""),
        ("date", ""),
    ];
    let page = browser.post("/send", &form).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Sent to 2 recipients (0 refused, 0 in doubt): 2 credits, 0 refunded."),
        "{}",
        page.body
    );
    assert_eq!(site.world.credits("boutique").await, 8);
    assert!(page.body.contains("<span id=\"balance\">8</span> credits"), "the header after the debit: {}", page.body);
    assert_eq!(site.world.sms().len(), 2, "the provider got both");
    let listing = browser.get("/sends").await;
    assert!(listing.body.contains("web-"), "the web send is listed with the emails");

    let due = (Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%d 10:00:00").to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("numbers", "0612345678"),
        ("text", "Plus tard"),
        ("from", "BOUTIQUE"),
        ("date", due.as_str()),
    ];
    let page = browser.post("/send", &form).await;
    assert!(page.body.contains("Scheduled for"), "{}", page.body);
    let id = page.body.split("/sends/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(site.world.record(&id).await.state, MessageState::Scheduled);
    assert_eq!(site.world.credits("boutique").await, 7);

    let form =
        [("csrf", csrf.as_str()), ("numbers", "0612345678"), ("text", &"x".repeat(2000)), ("from", ""), ("date", "")];
    let page = browser.post("/send", &form).await;
    assert!(page.body.contains("Not sent: 111"), "too long, as for an email: {}", page.body);
    let form = [
        ("csrf", csrf.as_str()),
        ("numbers", "0612345678|date=2030-01-01 00:00:00"),
        ("text", "x"),
        ("from", ""),
        ("date", ""),
    ];
    assert_eq!(browser.post("/send", &form).await.status, StatusCode::BAD_REQUEST, "no option smuggled in the numbers");
    for _ in 0..7 {
        let form = [("csrf", csrf.as_str()), ("numbers", "0612345678"), ("text", "x"), ("from", ""), ("date", "")];
        browser.post("/send", &form).await;
    }
    let form = [("csrf", csrf.as_str()), ("numbers", "0612345678"), ("text", "x"), ("from", ""), ("date", "")];
    let page = browser.post("/send", &form).await;
    assert!(page.body.contains("Not sent: 104"), "no credit left: {}", page.body);
    assert_eq!(site.world.credits("boutique").await, 0);
}

#[tokio::test]
async fn the_key_is_rotated_and_shown_once_with_the_subject_to_copy() {
    let site = Site::new().await;
    let old = site.customer("boutique", 10).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let page = browser.get("/key").await;
    assert!(page.body.contains("boutique@KEY|numbers|from=|date="));
    let csrf = page.csrf();
    let page = browser.post("/key", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::OK);
    let at = page.body.find("id=\"new-key\">").unwrap() + 13;
    let new = page.body[at..at + 40].to_owned();
    assert!(new.chars().all(|c| c.is_ascii_hexdigit()), "{new}");
    assert!(page.body.contains(&format!("boutique@{new}|numbers|from=|date=")));
    assert!(!browser.get("/key").await.body.contains(&new), "shown once");

    let refused = site.email(&format!("boutique@{old}|0612345678"), "old key").await;
    assert_eq!(site.world.record(&refused).await.state, MessageState::Rejected);
    let sent = site.email(&format!("boutique@{new}|0612345678"), "new key").await;
    assert_eq!(site.world.record(&sent).await.state, MessageState::Sent);
}

#[tokio::test]
async fn settings_are_saved_when_valid_and_refused_otherwise() {
    let site = Site::new().await;
    site.customer("boutique", 10).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let csrf = browser.csrf().await;
    let page = browser
        .post(
            "/settings",
            &[("csrf", &csrf), ("sender", "BOUTIQUE"), ("timezone", "Asia/Tokyo"), ("receipts", "failures")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Saved."));
    let account = site.world.ledger.account("boutique").await.unwrap().unwrap();
    assert_eq!(account.sender.as_ref().map(|s| s.as_str()), Some("BOUTIQUE"));
    assert_eq!((account.timezone.as_deref(), account.receipts.as_str()), (Some("Asia/Tokyo"), "failures"));
    for (sender, zone, receipts) in [("1BAD", "", "none"), ("", "Mars/Olympus", "none"), ("", "", "sometimes")] {
        let page = browser
            .post("/settings", &[("csrf", &csrf), ("sender", sender), ("timezone", zone), ("receipts", receipts)])
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{sender} {zone} {receipts}");
    }
    let page =
        browser.post("/settings", &[("csrf", &csrf), ("sender", ""), ("timezone", ""), ("receipts", "none")]).await;
    assert_eq!(page.status, StatusCode::OK);
    let account = site.world.ledger.account("boutique").await.unwrap().unwrap();
    assert_eq!((account.sender, account.timezone), (None, None), "emptied");
}

#[tokio::test]
async fn credits_movements_and_the_monthly_statement_add_up_to_the_balance() {
    let site = Site::new().await;
    let key = site.customer("boutique", 10).await;
    site.store.record_movement("boutique", &mail2sms::web::pages::operator_credit(Utc::now(), 10)).await.unwrap();
    site.email(&format!("boutique@{key}|0612345678;0698765432"), "Bonjour").await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let page = browser.get("/credits").await;
    assert!(page.body.contains("credits@operator.example"), "how to ask for credits");
    assert!(page.body.contains("Credits added by the operator") && page.body.contains("-2"), "{}", page.body);
    let month = Utc::now().format("%Y-%m").to_string();
    let page = browser.get(&format!("/statement?month={month}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-print"), "printable");
    let csv = browser.get(&format!("/statement.csv?month={month}")).await;
    assert_eq!(csv.headers.get(header::CONTENT_TYPE).unwrap(), "text/csv; charset=utf-8");
    assert!(csv.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap().contains("attachment"));
    let last = csv.body.lines().last().unwrap();
    assert_eq!(last, format!("\"{month}\",\"boutique\",\"Closing balance\",\"\",\"\",\"8\""));
    assert!(csv.body.contains("\"Opening balance\",\"\",\"\",\"0\""), "{}", csv.body);
    assert_eq!(browser.get("/statement?month=garbage").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sub_accounts_get_credits_both_ways_and_see_only_their_own() {
    let site = Site::new().await;
    let key = site.customer("parent", 50).await;
    site.customer("stranger", 5).await;
    let parents_email = site.email(&format!("parent@{key}|0612345678"), "Parent").await;
    let mut parent = Browser::signed_in(&site, "parent").await;
    let csrf = parent.csrf().await;

    let page = parent.post("/subaccounts", &[("csrf", &csrf), ("login", "shop-east"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let at = page.body.find("id=\"sub-key\">").unwrap() + 13;
    let sub_key = page.body[at..at + 40].to_owned();
    let page = parent.post("/subaccounts", &[("csrf", &csrf), ("login", "stranger"), ("password", PASSWORD)]).await;
    assert!(page.body.contains("is taken"), "{}", page.body);

    let page = parent
        .post(
            "/subaccounts/transfer",
            &[("csrf", &csrf), ("sub", "shop-east"), ("direction", "give"), ("credits", "20")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!((site.world.credits("parent").await, site.world.credits("shop-east").await), (29, 20));
    let page = parent
        .post(
            "/subaccounts/transfer",
            &[("csrf", &csrf), ("sub", "shop-east"), ("direction", "take"), ("credits", "21")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "never below zero");
    assert_eq!((site.world.credits("parent").await, site.world.credits("shop-east").await), (29, 20), "nothing moved");
    let page = parent
        .post(
            "/subaccounts/transfer",
            &[("csrf", &csrf), ("sub", "shop-east"), ("direction", "take"), ("credits", "5")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!((site.world.credits("parent").await, site.world.credits("shop-east").await), (34, 15));
    let page = parent
        .post("/subaccounts/transfer", &[("csrf", &csrf), ("sub", "stranger"), ("direction", "take"), ("credits", "1")])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "not its sub-account");
    assert_eq!(site.world.credits("stranger").await, 5);

    let subs_email = site.email(&format!("shop-east@{sub_key}|0612345678"), "Sub").await;
    assert_eq!(site.world.credits("shop-east").await, 14, "the sub-account sends with its own key and credits");
    let page = parent.get("/sends?account=shop-east").await;
    assert!(page.body.contains(&subs_email) && !page.body.contains(&parents_email));
    assert_eq!(parent.get(&format!("/sends/{subs_email}")).await.status, StatusCode::OK, "the parent sees its sub's");
    let page = parent.get("/credits?account=shop-east").await;
    assert!(page.body.contains("Transfer from parent"), "{}", page.body);

    let mut sub = Browser::signed_in(&site, "shop-east").await;
    let page = sub.get("/sends").await;
    assert!(page.body.contains(&subs_email) && !page.body.contains(&parents_email));
    assert_eq!(sub.get(&format!("/sends/{parents_email}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(sub.get("/sends?account=parent").await.status, StatusCode::NOT_FOUND);
    let sub_csrf = sub.csrf().await;
    let page = sub.post("/subaccounts", &[("csrf", &sub_csrf), ("login", "deeper"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "a sub-account has none of its own");
    let page = sub
        .post(
            "/subaccounts/transfer",
            &[("csrf", &sub_csrf), ("sub", "parent"), ("direction", "take"), ("credits", "1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "a sub-account takes nothing from its parent");
    assert_eq!(site.world.credits("parent").await, 34);
}

#[tokio::test]
async fn an_invitation_sets_the_password_once_within_24_hours() {
    let site = Site::new().await;
    site.world.account("boutique", 10).await;
    let invitation = site.store.invite("boutique", Utc::now()).await.unwrap();
    let mut browser = site.browser("192.0.2.20");
    let page = browser.get(&format!("/invitation/{invitation}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("boutique"));
    let csrf = page.csrf();
    let path = format!("/invitation/{invitation}");
    let page = browser.post(&path, &[("csrf", &csrf), ("password", "short"), ("confirm", "short")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let page = browser.post(&path, &[("csrf", &csrf), ("password", PASSWORD), ("confirm", "something else!")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let page = browser.post(&path, &[("csrf", &csrf), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/login?done=1"));
    assert_eq!(browser.get(&path).await.status, StatusCode::NOT_FOUND, "used once");
    Browser::signed_in(&site, "boutique").await;

    let stale = site.store.invite("boutique", Utc::now() - chrono::Duration::hours(25)).await.unwrap();
    assert_eq!(browser.get(&format!("/invitation/{stale}")).await.status, StatusCode::NOT_FOUND, "older than 24 hours");
    assert_eq!(browser.get("/invitation/not-a-token").await.status, StatusCode::NOT_FOUND);
}

/// `mail2sms-admin` as the operator runs it for the customer space: the first password from
/// standard input, an invitation link, the web table at bootstrap, credits for the statements.
#[tokio::test]
async fn the_operator_sets_a_password_invites_and_credits_for_the_customer_space() {
    use std::io::Write;
    use std::process::Stdio;
    let site = Site::new().await;
    site.world.account("boutique", 1).await;
    let web_table = format!("{}-web", site.world.token);
    let admin = |args: &[&str], input: Option<&str>| {
        let mut child = crate::helpers::admin_command(&site.world)
            .args(args)
            .env("WEB_TABLE", &web_table)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.unwrap_or_default().as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let output = admin(&["bootstrap"], None);
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("table {web_table}: already there")));

    let refused = admin(&["account", "password", "boutique"], Some("short\n"));
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("at least 10"));
    let output = admin(&["account", "password", "boutique"], Some(&format!("{PASSWORD}\n")));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!String::from_utf8_lossy(&output.stdout).contains(PASSWORD), "the password is never printed");
    let mut browser = Browser::signed_in(&site, "boutique").await;

    let output = admin(
        &["account", "invite", "boutique", "--url", "https://space.example.com/", "--email", "owner@shop.example"],
        None,
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let link = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(link.starts_with("https://space.example.com/invitation/"), "{link}");
    assert!(
        site.world
            .replies()
            .iter()
            .any(|reply| reply.to.as_deref().is_some_and(|to| to.contains("owner@shop.example"))),
        "sent by SES"
    );
    let path = link.trim_start_matches("https://space.example.com");
    assert_eq!(browser.get(path).await.status, StatusCode::OK);
    assert!(!admin(&["account", "invite", "nobody"], None).status.success());

    assert!(admin(&["credits", "add", "boutique", "25"], None).status.success());
    let page = browser.get("/credits").await;
    assert!(page.body.contains("Credits added by the operator") && page.body.contains("+25"), "{}", page.body);
}

// ----- the account's rules, changed from the settings page (issue #12 with #9) -----

#[tokio::test]
async fn allowed_senders_and_the_mode_are_changed_as_the_operator_would_and_one_account_owns_an_address() {
    let site = Site::new().await;
    site.customer("boutique", 10).await;
    site.customer("rival-shop", 10).await;
    let claire = format!("claire@{}.example", site.world.token);
    let domain = format!("@rival-{}.example", site.world.token);
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let csrf = browser.csrf().await;
    let senders = |fields: &[(&'static str, &str)]| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields.iter().map(|(name, value)| (*name, value.to_string())));
        form
    };
    let post = async |browser: &mut Browser, form: Vec<(&str, String)>| {
        let form: Vec<(&str, &str)> = form.iter().map(|(name, value)| (*name, value.as_str())).collect();
        browser.post("/settings/senders", &form).await
    };

    // Allowed, as typed (upper case, angle brackets), stored as the operator's command stores it.
    let page = post(&mut browser, senders(&[("allow", &format!("<{}>", claire.to_uppercase()))])).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&claire), "listed: {}", page.body);
    assert_eq!(site.account("boutique").await.allowed_senders, [claire.as_str()]);
    let page = post(&mut browser, senders(&[("auth", "key+sender")])).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(site.account("boutique").await.auth, AuthMode::KeyAndSender);
    // The same index as the operator's: the address is boutique's, for the command line too.
    let taken = admin(&site.world, &["account", "update", "rival-shop", "--allow", &claire]);
    assert!(!taken.status.success() && stderr(&taken).contains("boutique"), "{}", stderr(&taken));

    // Refused: not an address (shown back as text), a public suffix, the last sender of a mode that needs one.
    let hostile = "\"><img src=x onerror=alert(1)>";
    for (allow, said) in [(hostile, "is not one"), ("@co.uk", "is not one"), ("nobody", "is not one")] {
        let page = post(&mut browser, senders(&[("allow", allow)])).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{allow}: {}", page.body);
        assert!(page.body.contains(said), "{allow}: {}", page.body);
    }
    let page = post(&mut browser, senders(&[("allow", hostile)])).await;
    assert!(!page.body.contains("<img src=x") && page.body.contains("&#60;img src=x"), "as text: {}", page.body);
    let page = post(&mut browser, senders(&[("disallow", &claire)])).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("needs at least one allowed sender"), "{}", page.body);
    assert_eq!(site.account("boutique").await.allowed_senders, [claire.as_str()], "nothing changed");

    // An address or a domain another account allows: refused whole, without naming that account.
    let mut rival = Browser::signed_in(&site, "rival-shop").await;
    let rival_csrf = rival.csrf().await;
    let page = rival.post("/settings/senders", &[("csrf", &rival_csrf), ("allow", &domain)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let page = rival.post("/settings/senders", &[("csrf", &rival_csrf), ("allow", &claire)]).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("allowed by another account") && !page.body.contains("boutique"), "{}", page.body);
    let page = post(&mut browser, senders(&[("allow", &format!("other@example.org {domain}"))])).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("allowed by another account") && !page.body.contains("rival-shop"), "{}", page.body);
    assert_eq!(site.account("boutique").await.allowed_senders, [claire.as_str()], "nothing of it applied");

    // Another customer's account: 404, and nothing changes there.
    let page = post(&mut browser, senders(&[("account", "rival-shop"), ("allow", "mine@example.org")])).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(site.account("rival-shop").await.allowed_senders, [domain.as_str()]);
    assert_eq!(browser.get("/settings?account=rival-shop").await.status, StatusCode::NOT_FOUND);

    // Back to the key, then the address let go: the other account may have it.
    let page = post(&mut browser, senders(&[("auth", "key"), ("disallow", &claire)])).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let account = site.account("boutique").await;
    assert_eq!((account.auth, account.allowed_senders.len()), (AuthMode::Key, 0));
    let page = rival.post("/settings/senders", &[("csrf", &rival_csrf), ("allow", &claire)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
}

#[tokio::test]
async fn credit_alerts_are_changed_and_a_new_threshold_re_arms_the_alert_but_the_same_one_does_not() {
    let site = Site::new().await;
    let key = site.customer("boutique", 10).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let csrf = browser.csrf().await;
    let contact = format!("compta@{}.example", site.world.token);
    let alerts = async |browser: &mut Browser, low_credit: &str, contact: &str| {
        browser.post("/settings/alerts", &[("csrf", &csrf), ("low_credit", low_credit), ("contact", contact)]).await
    };

    let page = alerts(&mut browser, "9", &contact).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("below 9 credits"), "{}", page.body);
    let account = site.account("boutique").await;
    assert_eq!((account.low_credit, account.contact.as_deref()), (Some(9), Some(contact.as_str())));

    // Each refused: nothing of the form is written, not even the part that was right.
    for (low_credit, typed_contact, said) in [
        ("0", "new@example.org", "from 1 to"),
        ("many", "new@example.org", "not a number of credits"),
        ("5", "Compta <compta@example.org>", "one plain email address"),
        ("5", "not an address", "one plain email address"),
    ] {
        let page = alerts(&mut browser, low_credit, typed_contact).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{low_credit} {typed_contact}");
        assert!(page.body.contains(said), "{said}: {}", page.body);
        let account = site.account("boutique").await;
        assert_eq!((account.low_credit, account.contact.as_deref()), (Some(9), Some(contact.as_str())));
    }

    // A debit below the threshold tells the contact once; saving the same threshold again does
    // not re-arm the alert, a new one does (as `account update --low-credit` does).
    site.email(&format!("boutique@{key}|0612345678;0698765432"), "Bonjour").await;
    assert!(site.account("boutique").await.low_credit_alerted, "8 is below 9: told");
    let page = alerts(&mut browser, "9", &contact).await;
    assert!(page.body.contains("Nothing changed."), "{}", page.body);
    assert!(site.account("boutique").await.low_credit_alerted, "not re-armed by the same threshold");
    let page = alerts(&mut browser, "7", &contact).await;
    assert!(page.body.contains("below 7 credits"), "{}", page.body);
    let account = site.account("boutique").await;
    assert_eq!((account.low_credit, account.low_credit_alerted), (Some(7), false), "re-armed");

    let page = alerts(&mut browser, "1", "").await;
    assert!(page.body.contains("a threshold of 1 credit, but no contact"), "{}", page.body);
    let page = alerts(&mut browser, "", "").await;
    assert!(page.body.contains("no credit alert"), "{}", page.body);
    let account = site.account("boutique").await;
    assert_eq!((account.low_credit, account.contact), (None, None), "both removed");
}

#[tokio::test]
async fn marketing_hours_are_turned_off_only_with_the_customers_responsibility_said() {
    let site = Site::new().await;
    site.customer("boutique", 10).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let page = browser.get("/settings").await;
    assert!(page.body.contains("is your responsibility"), "said next to the switch: {}", page.body);
    assert!(page.body.contains("value=\"hold\" checked"), "held by default");
    let csrf = page.csrf();
    let page = browser.post("/settings/hours", &[("csrf", &csrf), ("marketing_hours", "ignore")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("under your responsibility") && page.body.contains("value=\"ignore\" checked"));
    assert!(site.account("boutique").await.ignore_marketing_hours);
    let page = browser.post("/settings/hours", &[("csrf", &csrf), ("marketing_hours", "sometimes")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(site.account("boutique").await.ignore_marketing_hours, "unchanged");
    let page = browser.post("/settings/hours", &[("csrf", &csrf), ("marketing_hours", "hold")]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!site.account("boutique").await.ignore_marketing_hours);
}

#[tokio::test]
async fn the_opt_out_list_is_paged_added_to_removed_from_and_imported_and_applies_to_emails() {
    let site = Site::new().await;
    let key = site.customer("boutique", 20).await;
    site.customer("rival-shop", 10).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let page = browser.get("/optouts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("0 numbers on the list."), "{}", page.body);
    let csrf = page.csrf();

    let page =
        browser.post("/optouts", &[("csrf", &csrf), ("numbers", "06 12 34 56 78\n+33698765432; 0033611223344")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("3 numbers added, 0 already on it"), "{}", page.body);
    assert!(page.body.contains("+33612345678") && page.body.contains("3 numbers on the list."));
    assert_eq!(site.opt_outs("boutique").await, ["+33611223344", "+33612345678", "+33698765432"]);
    let list = OptOutList::Account("boutique".to_owned());
    let entries = site.world.ledger.opt_outs_of(&list).await.unwrap();
    assert!(entries.iter().all(|entry| entry.source == OptOutSource::Customer), "{entries:?}");

    // A line that is not a number refuses them all, and is shown back as text.
    let typed = "0622334455\n<script>alert(1)</script>";
    let page = browser.post("/optouts", &[("csrf", &csrf), ("numbers", typed)]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.body.contains("is not a phone number to text") && page.body.contains("nothing changed"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert") && page.body.contains("&#60;script&#62;"), "{}", page.body);
    assert_eq!(site.opt_outs("boutique").await.len(), 3, "nothing added");
    let page = browser.post("/optouts", &[("csrf", &csrf), ("numbers", "01 23 45 67 89")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "a landline: {}", page.body);

    // The list applies to the account's emails: the listed number is neither sent nor charged.
    let id = site.email(&format!("boutique@{key}|0612345678;0687654321"), "Bonjour").await;
    let record = site.world.record(&id).await;
    let fates: Vec<(&str, Delivery)> = record.recipients.iter().map(|r| (r.number.e164(), r.delivery)).collect();
    assert!(fates.contains(&("+33612345678", Delivery::OptedOut)), "{fates:?}");
    assert_eq!(site.world.credits("boutique").await, 19, "one SMS charged");

    let page = browser.post("/optouts/remove", &[("csrf", &csrf), ("numbers", "+33698765432")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("1 number removed, 0 was not on it"), "{}", page.body);
    assert_eq!(site.opt_outs("boutique").await, ["+33611223344", "+33612345678"]);

    // A CSV file: the same reader and report as `optout import`.
    let csv = "phone;name\n06 12 34 56 71;Dupont\nabc;Martin\n0612345671;Durand\n0612345678;Petit\n";
    let page = browser.post("/optouts/import", &[("csrf", &csrf), ("csv", csv)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(
            "boutique&#39;s opt-out list: 1 number added, 1 already on it; 2 lines rejected (first line read as a header)"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("line 3: &#34;abc&#34;: not written as a phone number"), "{}", page.body);
    assert!(page.body.contains("line 4: &#34;0612345671&#34;: the same number as line 2"), "{}", page.body);
    assert_eq!(site.opt_outs("boutique").await.len(), 3);

    // Paged by number, 50 a page: the first page links to the next, which links back.
    let csv: String = (0..60).map(|i| format!("06 12 34 00 {i:02}\n")).collect();
    let page = browser.post("/optouts/import", &[("csrf", &csrf), ("csv", &csv)]).await;
    assert!(page.body.contains("60 numbers added"), "{}", page.body);
    let page = browser.get("/optouts").await;
    assert!(page.body.contains("63 numbers on the list."), "{}", page.body);
    assert_eq!(page.body.matches("action=\"/optouts/remove\"").count(), 50);
    assert!(page.body.contains("+33612340000") && !page.body.contains("+33612340050"), "by number");
    assert!(!page.body.contains("Previous numbers"));
    let next = page.body.split("href=\"/optouts?after=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(next, "33612340048", "+33611223344, then 49 of the 60");
    let page = browser.get(&format!("/optouts?after={next}")).await;
    assert_eq!(page.body.matches("action=\"/optouts/remove\"").count(), 13, "10 then 3: {}", page.body);
    assert!(page.body.contains("+33612340050") && !page.body.contains("+33698765432"), "removed before");
    assert!(page.body.contains("+33612345678") && !page.body.contains("Next numbers"));
    let before = page.body.split("href=\"/optouts?before=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let page = browser.get(&format!("/optouts?before={before}")).await;
    assert_eq!(page.body.matches("action=\"/optouts/remove\"").count(), 50);
    assert!(page.body.contains("+33612340048") && !page.body.contains("+33612340049"));
    assert!(!page.body.contains("Previous numbers"), "the first page again");
    let page = browser.get("/optouts?find=06%2012%2034%2000%2055").await;
    let first = page.body.split("<td class=\"number\">").nth(1).unwrap().split('<').next().unwrap();
    assert_eq!(first, "+33612340055", "the page found starts at the number");
    assert_eq!(browser.get("/optouts?find=nonsense").await.status, StatusCode::BAD_REQUEST);

    // Another customer's list: 404 to see it or change it; its own list is untouched.
    assert_eq!(browser.get("/optouts?account=rival-shop").await.status, StatusCode::NOT_FOUND);
    for path in ["/optouts", "/optouts/remove"] {
        let page = browser.post(path, &[("csrf", &csrf), ("account", "rival-shop"), ("numbers", "0611111111")]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let page =
        browser.post("/optouts/import", &[("csrf", &csrf), ("account", "rival-shop"), ("csv", "0611111111")]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(site.opt_outs("rival-shop").await.is_empty());
}

#[tokio::test]
async fn a_parent_changes_its_sub_accounts_settings_and_a_sub_account_only_its_own() {
    let site = Site::new().await;
    site.customer("parent", 50).await;
    let mut parent = Browser::signed_in(&site, "parent").await;
    let csrf = parent.csrf().await;
    let page = parent.post("/subaccounts", &[("csrf", &csrf), ("login", "shop-east"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    // The parent looks at and changes its sub-account's settings, as it looks at its sends.
    let page = parent.get("/settings?account=shop-east").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Settings of shop-east") && page.body.contains("name=\"account\" value=\"shop-east\""));
    let east = format!("east@{}.example", site.world.token);
    let page = parent.post("/settings/senders", &[("csrf", &csrf), ("account", "shop-east"), ("allow", &east)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(site.account("shop-east").await.allowed_senders, [east.as_str()]);
    assert!(site.account("parent").await.allowed_senders.is_empty(), "the parent's own are untouched");
    let page = parent
        .post("/settings/hours", &[("csrf", &csrf), ("account", "shop-east"), ("marketing_hours", "ignore")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(site.account("shop-east").await.ignore_marketing_hours);
    let page = parent.post("/optouts", &[("csrf", &csrf), ("account", "shop-east"), ("numbers", "0612345678")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(site.opt_outs("shop-east").await, ["+33612345678"]);
    assert!(site.opt_outs("parent").await.is_empty());

    // The sub-account changes its own, never its parent's.
    let mut sub = Browser::signed_in(&site, "shop-east").await;
    let sub_csrf = sub.csrf().await;
    let page = sub.post("/settings/alerts", &[("csrf", &sub_csrf), ("low_credit", "3"), ("contact", "")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(site.account("shop-east").await.low_credit, Some(3));
    assert_eq!(sub.get("/settings?account=parent").await.status, StatusCode::NOT_FOUND);
    assert_eq!(sub.get("/optouts?account=parent").await.status, StatusCode::NOT_FOUND);
    for (path, field, value) in [
        ("/settings", "sender", "PIRATE"),
        ("/settings/senders", "allow", "pirate@example.org"),
        ("/settings/alerts", "low_credit", "5"),
        ("/settings/hours", "marketing_hours", "ignore"),
        ("/optouts", "numbers", "0611111111"),
    ] {
        let page =
            sub.post(path, &[("csrf", &sub_csrf), ("account", "parent"), (field, value), ("receipts", "all")]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let account = site.account("parent").await;
    assert_eq!((account.sender, account.allowed_senders.len(), account.low_credit), (None, 0, None));
    assert!(
        !account.ignore_marketing_hours && site.opt_outs("parent").await.is_empty(),
        "nothing of the parent's changed"
    );
}

#[tokio::test]
async fn the_send_forms_preview_button_checks_everything_and_sends_nothing() {
    let site = Site::new().await;
    let key = site.customer("boutique", 1).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let csrf = browser.csrf().await;
    let preview = |numbers, text| {
        [
            ("csrf", csrf.as_str()),
            ("numbers", numbers),
            ("text", text),
            ("from", ""),
            ("date", ""),
            ("action", "preview"),
        ]
    };

    let page = browser.post("/send", &preview("06 12 34 56 78; 06 98 76 54 32", "Bonjour du web")).await;

    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in
        ["id=\"preview\"", "Destinataires retenus : 2", "Status: 104", "Solde au moment de la simulation : 1 crédit"]
    {
        assert!(page.body.contains(shown), "missing {shown:?}: {}", page.body);
    }
    assert!(page.body.contains(">Bonjour du web</textarea>"), "the form is kept: {}", page.body);
    assert!(site.world.sms().is_empty() && site.world.replies().is_empty(), "nothing sent, no email");
    assert_eq!(site.world.credits("boutique").await, 1);
    assert!(!browser.get("/sends").await.body.contains("web-"), "nothing recorded");

    let page = browser.post("/send", &preview("0612345678", "Bonjour du web")).await;
    assert!(page.body.contains("Crédits suffisants : oui"), "{}", page.body);
    let page = browser.post("/send", &preview("0612345678", "  ")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Would not be sent: 110"), "the send's own refusal: {}", page.body);
    assert!(site.world.sms().is_empty());
    assert_eq!(site.world.credits("boutique").await, 1);

    // An email's dry run is listed as previewed, and its page says what it was.
    let id = site.email(&format!("boutique@{key}|0612345678;0698765432|dryrun"), "Bonjour").await;
    let listing = browser.get("/sends?status=previewed").await;
    assert!(listing.body.contains(&id) && listing.body.contains("badge previewed"), "{}", listing.body);
    assert!(!browser.get("/sends?status=rejected").await.body.contains(&id));
    let page = browser.get(&format!("/sends/{id}")).await;
    assert!(page.body.contains("A preview (<code>dryrun</code>)"), "{}", page.body);
    assert!(page.body.contains("Its error code is the one the real send would get."), "104: {}", page.body);
}

// ----- cancelling a scheduled send -----

/// A date two days ahead, as a subject or the send form writes it.
fn later() -> String {
    (Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d 09:30:00").to_string()
}

/// Whether the message page offers "Cancel this send" for `id`.
fn offers_cancel(page: &Page, id: &str) -> bool {
    page.body.contains(&format!("action=\"/sends/{id}/cancel\"")) && page.body.contains("Cancel this send</button>")
}

/// How many times the statement's CSV has a refund of `id`.
fn refunds_in(csv: &str, id: &str) -> usize {
    csv.matches(&format!("\"Refund\",\"{id}\"")).count()
}

#[tokio::test]
async fn a_scheduled_web_send_and_email_are_cancelled_by_their_owner_once_refunded_and_unscheduled() {
    let site = Site::new().await;
    let key = site.customer("boutique", 20).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let csrf = browser.csrf().await;
    let due = later();
    let form =
        [("csrf", csrf.as_str()), ("numbers", "0612345678"), ("text", "Plus tard"), ("from", ""), ("date", &due)];
    let page = browser.post("/send", &form).await;
    assert!(page.body.contains("Scheduled for"), "{}", page.body);
    let web = page.body.split("/sends/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let email = site.email(&format!("boutique@{key}|0612345678;0698765432|date={due}"), "Bonjour plus tard").await;
    assert_eq!(site.world.credits("boutique").await, 17);

    for (id, refunded, balance) in [(&web, "1 credit", 18), (&email, "2 credits", 20)] {
        let schedule = site.world.record(id).await.schedule_name.expect("a schedule");
        assert!(site.world.schedules().await.contains(&schedule), "in the emulator's group");
        let page = browser.get(&format!("/sends/{id}")).await;
        assert!(offers_cancel(&page, id), "a scheduled send of its own: {}", page.body);

        let page = browser.post(&format!("/sends/{id}/cancel"), &[("csrf", &csrf)]).await;

        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let said = format!(
            "Send cancelled: nothing will be sent, and {refunded} refunded. Your balance is now {balance} credits."
        );
        assert!(page.body.contains(&said), "{said}: {}", page.body);
        assert!(page.body.contains(&format!("<span id=\"balance\">{balance}</span>")), "the header's balance");
        assert!(page.body.contains("badge cancelled") && !offers_cancel(&page, id), "{}", page.body);
        assert!(!page.body.contains("http-equiv=\"refresh\""), "a cancelled send does not refresh");
        assert!(!page.body.contains("badge pending"), "its recipients are cancelled too: {}", page.body);
        let record = site.world.record(id).await;
        assert_eq!((record.state, record.refunded, record.text), (MessageState::Cancelled, record.cost, None));
        assert!(record.cancelled_at.is_some());
        assert_eq!(site.world.credits("boutique").await, balance);
        assert!(!site.world.schedules().await.contains(&schedule), "its schedule is deleted");

        // Twice: said, and nothing more refunded.
        let page = browser.post(&format!("/sends/{id}/cancel"), &[("csrf", &csrf)]).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
        assert!(page.body.contains("Not cancelled again: this send was cancelled already"), "{}", page.body);
        assert!(page.body.contains("Nothing changed."));
        assert_eq!(site.world.credits("boutique").await, balance, "refunded once");
    }
    let (gateway, invocation) = (site.world.gateway(), site.world.invocation());
    let due = gateway.handle(serde_json::json!({ "scheduled_send": email }), &invocation).await.unwrap();
    assert_eq!(due, [mail2sms::pipeline::Outcome::NothingDue { message_id: email.clone() }]);
    assert!(site.world.sms().is_empty(), "nothing sent");

    // The credit movements: each debit and its refund once, the running balance ending at 20.
    let page = browser.get("/credits").await;
    assert_eq!(page.body.matches(&format!("<a href=\"/sends/{web}\">Refund</a>")).count(), 1, "{}", page.body);
    assert_eq!(page.body.matches(&format!("<a href=\"/sends/{email}\">Refund</a>")).count(), 1);
    let month = Utc::now().format("%Y-%m").to_string();
    let csv = browser.get(&format!("/statement.csv?month={month}")).await.body;
    assert_eq!((refunds_in(&csv, &web), refunds_in(&csv, &email)), (1, 1), "{csv}");
    assert!(csv.contains(&format!("\"Refund\",\"{email}\",\"2\",\"20\"")), "the refund last, at 20: {csv}");
    assert!(csv.contains(&format!("\"Refund\",\"{web}\",\"1\",\"18\"")), "{csv}");
    assert!(csv.ends_with(&format!("\"{month}\",\"boutique\",\"Closing balance\",\"\",\"\",\"20\"\r\n")), "{csv}");
    assert!(csv.contains("\"Opening balance\",\"\",\"\",\"20\""), "{csv}");
}

#[tokio::test]
async fn a_held_email_and_a_large_email_in_parts_are_cancelled_whole_from_the_web() {
    let site = Site::new().await;
    let key = site.customer("boutique", 2_000).await;
    let mut browser = Browser::signed_in(&site, "boutique").await;
    let csrf = browser.csrf().await;
    // Held to the French marketing hours: a commercial text on a Saturday at 21:00 in Paris.
    let mut saturday_evening = site.world.gateway();
    saturday_evening.clock = || chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 28, 20, 0, 0).unwrap();
    let held =
        site.world.receive(&site.world.email(&format!("boutique@{key}|0612345678"), "Soldes STOP au 36180")).await;
    saturday_evening.handle(site.world.ses_event(&held), &site.world.invocation()).await.unwrap();
    assert!(site.world.record(&held).await.held.is_some());
    // 1,001 numbers, dated later: in parts, each part scheduled with it.
    let numbers: Vec<String> = (0..1_001).map(|i| format!("+4479{:08}", 20_000_000 + i)).collect();
    let large = site.email(&format!("boutique@{key}|{}|date={}", numbers.join(";"), later()), "Bonjour").await;
    let parts = site.world.record(&large).await.part_ids();
    assert_eq!(parts.len(), 5);
    assert_eq!(site.world.credits("boutique").await, 2_000 - 1 - 1_001);

    let page = browser.get(&format!("/sends/{held}")).await;
    assert!(offers_cancel(&page, &held), "a held email is scheduled: {}", page.body);
    let page = browser.post(&format!("/sends/{held}/cancel"), &[("csrf", &csrf)]).await;
    assert!(page.body.contains("1 credit refunded. Your balance is now 999 credits."), "{}", page.body);
    assert_eq!(site.world.record(&held).await.state, MessageState::Cancelled);

    // A part is not cancelled alone: its email is.
    let page = browser.get(&format!("/sends/{}", parts[0])).await;
    assert!(page.status == StatusCode::OK && !offers_cancel(&page, &parts[0]), "{}", page.body);
    let page = browser.post(&format!("/sends/{}/cancel", parts[0]), &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains(&format!("a part of the large email {large}")), "{}", page.body);
    assert_eq!(site.world.record(&parts[0]).await.state, MessageState::Scheduled, "nothing changed");

    let page = browser.post(&format!("/sends/{large}/cancel"), &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("1001 credits refunded. Your balance is now 2000 credits."), "{}", page.body);
    assert_eq!(site.world.credits("boutique").await, 2_000);
    for part in &parts {
        assert_eq!(site.world.record(part).await.state, MessageState::Cancelled, "{part} cancelled with its email");
    }
    assert!(site.world.schedules().await.is_empty(), "both schedules deleted");
    assert!(site.world.sms().is_empty());
}

#[tokio::test]
async fn only_the_owner_cancels_with_its_csrf_token_and_only_what_is_still_scheduled() {
    let site = Site::new().await;
    let key = site.customer("parent", 50).await;
    let other_key = site.customer("other", 10).await;
    let theirs = site.email(&format!("other@{other_key}|0612345678|date={}", later()), "Secret").await;
    let scheduled = site.email(&format!("parent@{key}|0612345678|date={}", later()), "Plus tard").await;
    let sent = site.email(&format!("parent@{key}|0612345678"), "Tout de suite").await;
    let mut parent = Browser::signed_in(&site, "parent").await;
    let csrf = parent.csrf().await;
    let schedules = site.world.schedules().await;
    assert_eq!(schedules.len(), 2);

    // Another account's send: not found, as if it did not exist.
    assert_eq!(parent.get(&format!("/sends/{theirs}")).await.status, StatusCode::NOT_FOUND);
    let page = parent.post(&format!("/sends/{theirs}/cancel"), &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(site.world.record(&theirs).await.state, MessageState::Scheduled);
    assert_eq!(site.world.credits("other").await, 9);

    // Without the session's CSRF token: refused.
    for fields in [vec![], vec![("csrf", "0".repeat(64))]] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = parent.post(&format!("/sends/{scheduled}/cancel"), &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{fields:?}");
    }
    assert_eq!(site.world.record(&scheduled).await.state, MessageState::Scheduled);
    assert_eq!(site.world.credits("parent").await, 48);

    // A sent message: no form, and a forged post changes nothing.
    let page = parent.get(&format!("/sends/{sent}")).await;
    assert!(page.status == StatusCode::OK && !offers_cancel(&page, &sent), "{}", page.body);
    let page = parent.post(&format!("/sends/{sent}/cancel"), &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains("Not cancelled: this send is no longer scheduled (it is sent now"), "{}", page.body);
    let record = site.world.record(&sent).await;
    assert_eq!((record.state, record.refunded), (MessageState::Sent, 0));
    assert_eq!(site.world.credits("parent").await, 48);
    assert_eq!(site.world.schedules().await, schedules, "no schedule deleted");

    // A sub-account's scheduled send: its parent sees it, but only the sub-account cancels it.
    let page = parent.post("/subaccounts", &[("csrf", &csrf), ("login", "shop-east"), ("password", PASSWORD)]).await;
    let at = page.body.find("id=\"sub-key\">").unwrap() + 13;
    let sub_key = page.body[at..at + 40].to_owned();
    let give = [("csrf", csrf.as_str()), ("sub", "shop-east"), ("direction", "give"), ("credits", "5")];
    assert_eq!(parent.post("/subaccounts/transfer", &give).await.status, StatusCode::OK);
    let subs = site.email(&format!("shop-east@{sub_key}|0612345678|date={}", later()), "Sub").await;
    let page = parent.get(&format!("/sends/{subs}")).await;
    assert!(page.status == StatusCode::OK && !offers_cancel(&page, &subs), "{}", page.body);
    let page = parent.post(&format!("/sends/{subs}/cancel"), &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("only shop-east, whose send it is, can cancel it"), "{}", page.body);
    assert_eq!(site.world.record(&subs).await.state, MessageState::Scheduled);

    let mut sub = Browser::signed_in(&site, "shop-east").await;
    let sub_csrf = sub.csrf().await;
    let page = sub.post(&format!("/sends/{scheduled}/cancel"), &[("csrf", &sub_csrf)]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "not its parent's");
    assert!(offers_cancel(&sub.get(&format!("/sends/{subs}")).await, &subs));
    let page = sub.post(&format!("/sends/{subs}/cancel"), &[("csrf", &sub_csrf)]).await;
    assert!(page.body.contains("1 credit refunded. Your balance is now 5 credits."), "{}", page.body);
    assert_eq!(site.world.record(&scheduled).await.state, MessageState::Scheduled, "the parent's left alone");
    assert_eq!((site.world.credits("parent").await, site.world.credits("shop-east").await), (43, 5));
}
