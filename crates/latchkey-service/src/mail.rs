//! Outgoing email: the password-reset link and the new-device alert. With `SMTP_URL` set it is sent with lettre; without it the
//! log backend writes the message to the server log in development, and in production logs only that a
//! message could not be sent (a reset link is a credential and never reaches a production log).
//! Messages go through one bounded queue served by one thread ([`MailQueue`]).

use std::fmt;
use std::sync::mpsc;

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Sends email. Implementations must not log secrets other than what the message is for.
pub trait EmailSender: Send + Sync + fmt::Debug {
    /// Sends one message.
    fn send(&self, email: &Email) -> Result<(), String>;
}

/// Used when no SMTP transport is configured. In development it writes each message, body and reset link
/// included, to the log at INFO, so a developer can follow the link; in production it writes only that the
/// message was not sent: the body holds a reset token, and tokens must never reach a production log.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSender {
    /// Whether the message body may be logged (never in production).
    pub show_body: bool,
}

impl EmailSender for LogSender {
    fn send(&self, email: &Email) -> Result<(), String> {
        if self.show_body {
            tracing::info!(to = %email.to, subject = %email.subject, body = %email.body, "email (log backend)");
            Ok(())
        } else {
            Err("no mail transport is configured (set SMTP_URL); the message was not sent".to_owned())
        }
    }
}

/// One bounded queue and one thread that sends from it: a burst of reset requests costs the request path a
/// non-blocking push each, never a thread, and at most `capacity` messages wait. When the queue is full the
/// message is dropped and the drop logged (the requester sees the same answer either way and may retry).
#[derive(Debug)]
pub struct MailQueue {
    sender: mpsc::SyncSender<Email>,
}

impl MailQueue {
    /// Starts the sending thread.
    pub fn new(mailer: std::sync::Arc<dyn EmailSender>, capacity: usize) -> Result<MailQueue, String> {
        let (sender, receiver) = mpsc::sync_channel::<Email>(capacity.max(1));
        std::thread::Builder::new()
            .name("latchkey-mail".into())
            .spawn(move || {
                // Ends when the queue's sender is dropped (the services are gone).
                for message in receiver {
                    if let Err(e) = mailer.send(&message) {
                        tracing::error!(error = %e, subject = %message.subject, "sending an email failed");
                    }
                }
            })
            .map_err(|e| format!("starting the mail thread: {e}"))?;
        Ok(MailQueue { sender })
    }

    /// Queues a message without waiting; `false` when the queue is full (the message is dropped).
    pub fn enqueue(&self, message: Email) -> bool {
        match self.sender.try_send(message) {
            Ok(()) => true,
            Err(mpsc::TrySendError::Full(m) | mpsc::TrySendError::Disconnected(m)) => {
                tracing::error!(subject = %m.subject, "mail queue full: an email was dropped");
                false
            }
        }
    }
}

/// Sends through an SMTP server (`smtp://user:pass@host:587?tls=required`, `smtps://…`).
pub struct SmtpSender {
    transport: lettre::SmtpTransport,
    from: lettre::message::Mailbox,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// Builds a sender from `SMTP_URL` and `SMTP_FROM`.
    pub fn new(url: &str, from: &str) -> Result<SmtpSender, String> {
        let transport = lettre::SmtpTransport::from_url(url).map_err(|e| format!("SMTP_URL: {e}"))?.build();
        let from = from.parse().map_err(|e| format!("SMTP_FROM: {e}"))?;
        Ok(SmtpSender { transport, from })
    }
}

impl EmailSender for SmtpSender {
    fn send(&self, email: &Email) -> Result<(), String> {
        use lettre::Transport as _;
        let to = email.to.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .body(email.body.clone())
            .map_err(|e| e.to_string())?;
        self.transport.send(&message).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// What a new-device alert says.
#[derive(Debug, Clone, Copy)]
pub struct NewSignIn<'a> {
    pub device: &'a str,
    pub ip_address: Option<&'a str>,
    pub location: &'a latchkey_domain::device::Location,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The "not me" link.
    pub link: &'a str,
}

/// The new-device alert's text.
pub fn new_sign_in_email(to: &str, s: &NewSignIn<'_>) -> Email {
    let place = s.location.place().unwrap_or_else(|| "unknown".to_owned());
    Email {
        to: to.to_owned(),
        subject: "New sign-in to your account".to_owned(),
        body: format!(
            "Your account was just signed in to from a device or place it has not used recently.\n\n\
             Device:   {}\nIP:       {}\nLocation: {place}\nTime:     {} UTC\n\n\
             If this was you, there is nothing to do.\n\n\
             If it was not you, open this link to end that session and get a link to reset your password:\n\
             {}\n\nThe link works once and expires in 7 days.",
            s.device,
            s.ip_address.unwrap_or("unknown"),
            s.at.format("%Y-%m-%d %H:%M"),
            s.link,
        ),
    }
}

/// The reset email's text.
pub fn password_reset_email(to: &str, link: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Password Reset Request".to_owned(),
        body: format!(
            "You asked to reset your password.\n\nOpen this link to choose a new one:\n{link}\n\n\
             This link will expire in 1 hour. If you did not ask for this, ignore this email."
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::{self, Write as _};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::Config;
    use crate::services::default_mailer;

    /// Collects every event's fields as text.
    struct Capture(Arc<Mutex<String>>);

    impl tracing::Subscriber for Capture {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            struct Fields<'a>(&'a mut String);
            impl tracing::field::Visit for Fields<'_> {
                fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                    let _ = write!(self.0, "{}={value:?} ", field.name());
                }
            }
            event.record(&mut Fields(&mut self.0.lock().unwrap()));
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    fn logged_while_sending(config: &Config) -> (Result<(), String>, String) {
        let log = Arc::new(Mutex::new(String::new()));
        let mailer = default_mailer(config).unwrap();
        let message = password_reset_email("ada@example.com", "http://app/reset-password?token=SECRET-TOKEN");
        let result = tracing::subscriber::with_default(Capture(log.clone()), || mailer.send(&message));
        let text = log.lock().unwrap().clone();
        (result, text)
    }

    fn config(environment: &str) -> Config {
        let mut config = Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some("sqlite://unused.db".to_owned()),
            "SECRET_KEY" => Some("test-secret-key-with-enough-characters-0123456789".to_owned()),
            _ => None,
        })
        .unwrap();
        config.environment = environment.to_owned();
        config
    }

    #[test]
    fn in_production_the_log_backend_never_logs_the_reset_link() {
        let (result, log) = logged_while_sending(&config("production"));
        assert!(result.is_err(), "without a transport the message is not sent");
        assert!(!log.contains("SECRET-TOKEN"), "{log}");
    }

    #[test]
    fn in_development_the_log_backend_shows_the_link() {
        let (result, log) = logged_while_sending(&config("development"));
        assert!(result.is_ok());
        assert!(log.contains("SECRET-TOKEN"), "{log}");
    }

    /// A sender that reports each message it starts and then waits for the test to let it finish.
    #[derive(Debug)]
    struct Gated {
        started: Mutex<mpsc::Sender<()>>,
        gate: Mutex<mpsc::Receiver<()>>,
        sent: Mutex<Vec<String>>,
    }

    impl EmailSender for Gated {
        fn send(&self, email: &Email) -> Result<(), String> {
            let _ = self.started.lock().unwrap().send(());
            let _ = self.gate.lock().unwrap().recv();
            self.sent.lock().unwrap().push(email.to.clone());
            Ok(())
        }
    }

    #[test]
    fn the_mail_queue_is_bounded_and_served_by_one_thread() {
        let (started_tx, started) = mpsc::channel();
        let (open, gate) = mpsc::channel();
        let sender =
            Arc::new(Gated { started: Mutex::new(started_tx), gate: Mutex::new(gate), sent: Mutex::default() });
        let queue = MailQueue::new(sender.clone(), 2).unwrap();
        let message = |to: &str| password_reset_email(to, "http://app/x");
        assert!(queue.enqueue(message("1@example.com")));
        // The thread took the first message and waits inside `send`: now the queue itself fills.
        started.recv().unwrap();
        assert!(queue.enqueue(message("2@example.com")));
        assert!(queue.enqueue(message("3@example.com")));
        assert!(!queue.enqueue(message("4@example.com")), "a full queue drops, never blocks");
        for _ in 0..3 {
            open.send(()).unwrap();
        }
        drop(queue);
        for _ in 0..500 {
            if sender.sent.lock().unwrap().len() == 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(*sender.sent.lock().unwrap(), ["1@example.com", "2@example.com", "3@example.com"]);
    }
}
