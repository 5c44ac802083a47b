//! What the function writes to its logs, captured while real emails go through against the
//! emulator: never an API key (not even the one in the SES event's subject), never an SMS text,
//! never a whole phone number.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::helpers::World;
use mail2sms::ports::{OutgoingSms, PortError, SmsGateway};

/// Everything written to the log, kept for the assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

/// The log of this test's thread, captured as JSON lines at DEBUG while it is alive.
pub(crate) struct LogCapture {
    captured: Captured,
    // Fields drop in this order: the thread's default first, the other dispatcher after it.
    _guard: tracing::subscriber::DefaultGuard,
    _other_threads: tracing::Dispatch,
}

impl LogCapture {
    pub(crate) fn start() -> LogCapture {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        // For this thread only, until the guard drops: the test's runtime is a current-thread
        // one, so everything the gateway logs for it is written here, and the other tests of the
        // binary, each on a thread of its own, neither write to this capture nor replace it.
        //
        // A second dispatcher, registered and kept alive as long as the capture, does nothing
        // but keep tracing from deciding alone on the other threads: with one scoped dispatcher
        // only, tracing-core decides whether a call site is ever enabled from the default of the
        // thread that reaches it first, and a site another test reaches first while this one
        // runs (its default subscribes to nothing) would never be enabled here. With two, every
        // dispatcher is asked, and each event is checked against this thread's at the time it
        // happens.
        let other_threads = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        let guard = tracing::subscriber::set_default(subscriber);
        LogCapture { captured, _guard: guard, _other_threads: other_threads }
    }

    /// Everything logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.captured.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A provider that refuses one number, quoting it in full in its error, as SNS does.
struct QuotingRefusal(mail2sms::aws::Sms);

impl SmsGateway for QuotingRefusal {
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, PortError> {
        if sms.to.e164() == "+33699887766" {
            let message = format!("Invalid parameter: PhoneNumber Reason: {} is not valid", sms.to.e164());
            return Err(PortError::Refused { service: "sns", message });
        }
        self.0.send(sms).await
    }
}

#[tokio::test]
async fn logs_never_show_a_key_a_text_or_a_whole_number() {
    let logs = LogCapture::start();

    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = world.gateway().map_sms(QuotingRefusal);
    let text = format!("Code secret 4242 pour {}", world.token);
    for subject in [
        format!("shop@{key}|0612345678;0699887766|from=MAGASIN"),
        format!("shop@{key}|0612345678|dat=2026-12-01 09:30:00"),
        "shop@wrong-key|0612345678".to_owned(),
    ] {
        let id = world.receive(&world.email(&subject, &text)).await;
        let event = world.ses_event(&id);
        let mail = &event["Records"][0]["ses"]["mail"];
        assert_eq!(mail["commonHeaders"]["subject"], subject.as_str(), "the event carries the subject, as SES's does");
        gateway.handle(event, &world.invocation()).await.unwrap();
    }

    let log = logs.text();
    assert!(log.contains("settled") && log.contains("rejected"), "the log says what happened: {log}");
    assert!(log.contains("+*********66"), "the refused number appears masked: {log}");
    for secret in [key.as_str(), "wrong-key", text.as_str(), "+33612345678", "612345678", "+33699887766", "699887766"] {
        assert!(!log.contains(secret), "the log shows {secret:?}: {log}");
    }
}
