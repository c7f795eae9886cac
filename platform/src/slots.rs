//! Work in progress counted per key: open event streams and uploads per user
//! ([`Slots`]), storage reserved per workspace by uploads in progress
//! ([`Reservations`]). Per process: several server processes each count their own.

use std::sync::Arc;

/// Counts of things in progress by key (`user:…`, `tenant:…`): open event streams,
/// uploads.
#[derive(Default)]
pub struct Slots {
    open: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

/// One holder's slots; dropping it frees them.
pub struct Slot {
    slots: Arc<Slots>,
    keys: Vec<String>,
}

impl Slots {
    /// Takes one slot under each `(key, limit)`, or none (and says which was full, as
    /// "<key> already has <limit> <what>").
    pub fn acquire(
        self: &Arc<Self>,
        limits: &[(String, usize)],
        what: &str,
    ) -> Result<Slot, String> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((key, limit)) = limits
            .iter()
            .find(|(k, limit)| open.get(k).copied().unwrap_or(0) >= *limit)
        {
            return Err(format!("{key} already has {limit} {what}"));
        }
        for (k, _) in limits {
            *open.entry(k.clone()).or_insert(0) += 1;
        }
        Ok(Slot {
            slots: self.clone(),
            keys: limits.iter().map(|(k, _)| k.clone()).collect(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        for k in &self.keys {
            if let Some(n) = open.get_mut(k) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(k);
                }
            }
        }
    }
}

/// Amounts (bytes) reserved by key until their holders finish.
///
/// A holder reads what is used, reserves, and later records what it used and drops its
/// reservation. Both happen under the key's [`Reservations::turn`], so a reader sees
/// either the reservation or the recorded use, never neither (which would let two
/// uploads share the same room).
#[derive(Default)]
pub struct Reservations {
    held: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    turns: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A reservation; dropping it returns the amount.
pub struct Reservation {
    owner: Arc<Reservations>,
    key: String,
    amount: u64,
}

impl Reservations {
    /// The lock that orders reading the use of `key` with recording it.
    pub fn turn(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        // Drop the turns nobody holds, so keys don't accumulate.
        turns.retain(|_, t| Arc::strong_count(t) > 1);
        turns.entry(key.to_string()).or_default().clone()
    }

    /// Reserves up to `want` of what `room` leaves under `key` once the other holders'
    /// reservations are taken off; `None` when nothing is left.
    pub fn reserve(self: &Arc<Self>, key: &str, room: u64, want: u64) -> Option<Reservation> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let taken = held.get(key).copied().unwrap_or(0);
        let amount = want.min(room.saturating_sub(taken));
        if amount == 0 {
            return None;
        }
        *held.entry(key.to_string()).or_insert(0) += amount;
        Some(Reservation {
            owner: self.clone(),
            key: key.to_string(),
            amount,
        })
    }
}

impl Reservation {
    /// The amount reserved.
    pub fn amount(&self) -> u64 {
        self.amount
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut held = self.owner.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(self.amount);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}
