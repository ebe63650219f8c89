//! Outgoing email: the password-reset link. `log` (default) writes the link to the server log; `smtp`
//! sends it with lettre when `SMTP_URL` is set.

use std::fmt;

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

/// Writes messages to the log at INFO (development default).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSender;

impl EmailSender for LogSender {
    fn send(&self, email: &Email) -> Result<(), String> {
        tracing::info!(to = %email.to, subject = %email.subject, body = %email.body, "email (log backend)");
        Ok(())
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
