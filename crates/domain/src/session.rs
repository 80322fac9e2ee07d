//! Signed-in sessions as a person sees them in "Where you're signed in".

use chrono::{DateTime, Utc};

use crate::ids::{SessionId, UserId};

#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub id: SessionId,
    pub user_id: UserId,
    pub user_agent: String,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// How long a session may live: idle (since its last request) and absolute (since sign-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle: chrono::Duration,
    pub absolute: chrono::Duration,
}

impl SessionLimits {
    pub fn is_expired(
        &self,
        created_at: DateTime<Utc>,
        last_seen_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        now - last_seen_at > self.idle || now - created_at > self.absolute
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn idle_and_absolute_limits() {
        let limits = SessionLimits {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        };
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(!limits.is_expired(t0, t0, t0 + Duration::minutes(29)));
        assert!(limits.is_expired(t0, t0, t0 + Duration::minutes(31)));
        let active = t0 + Duration::hours(12);
        assert!(limits.is_expired(t0, active, active + Duration::minutes(1)));
    }
}
