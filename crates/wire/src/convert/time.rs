//! `chrono::DateTime<Utc>` ⇄ `prost_types::Timestamp`.

use chrono::{DateTime, Utc};

/// To a protobuf timestamp.
pub fn timestamp_to_pb(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// From a protobuf timestamp (out-of-range values clamp to the epoch rather than panic).
pub fn timestamp_from_pb(t: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_with_nanoseconds() {
        let t = DateTime::parse_from_rfc3339("2026-11-29T06:35:07.123456789Z")
            .unwrap()
            .to_utc();
        assert_eq!(timestamp_from_pb(&timestamp_to_pb(t)), t);
    }
}
