//! Timestamps are stored as naive UTC; these convert at the boundary.

use chrono::{DateTime, NaiveDateTime, Utc};

pub(crate) fn to_db(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

pub(crate) fn from_db(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}
