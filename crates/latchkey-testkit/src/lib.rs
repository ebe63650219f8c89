//! Latchkey's test kit: what the crates' tests share. Used only as a dev-dependency; nothing here ships.
