//! Email in tests: an outbox that keeps every message sent.

use std::sync::{Arc, Mutex};

use latchkey_service::mail::{Email, EmailSender};

/// Captures outgoing email. Clones share one outbox.
#[derive(Debug, Clone, Default)]
pub struct Outbox(Arc<Mutex<Vec<Email>>>);

impl EmailSender for Outbox {
    fn send(&self, email: &Email) -> Result<(), String> {
        self.0.lock().unwrap().push(email.clone());
        Ok(())
    }
}

impl Outbox {
    /// Waits (briefly) for the n-th message: emails are sent off the request's thread, one at a time and
    /// in the order they were queued.
    pub fn wait_for(&self, n: usize) -> Email {
        for _ in 0..200 {
            if let Some(m) = self.0.lock().unwrap().get(n) {
                return m.clone();
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no email #{n} was sent");
    }

    /// How many messages were sent so far.
    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}
