//! [`ScheduleAt`]: when a scheduled reducer runs.

use super::{TimeDuration, Timestamp};
use crate::bsatn::{decode_tag, Decode, DecodeError, Encode};
use crate::{AlgebraicType, SpacetimeType, TypespaceBuilder};
use std::time::Duration;

/// When a row of a scheduled table fires its reducer.
/// SATS type: the sum `{ Interval: TimeDuration, Time: Timestamp }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScheduleAt {
    /// Repeatedly, every interval; the row is kept.
    Interval(TimeDuration),
    /// Once, at the given time; the row is deleted after the run.
    Time(Timestamp),
}

impl ScheduleAt {
    /// How long after `from` the schedule fires: the interval's magnitude, or the time
    /// until the fixed time (zero if that has passed).
    pub fn to_duration_from(&self, from: Timestamp) -> Duration {
        match *self {
            Self::Interval(interval) => interval.to_duration_abs(),
            Self::Time(time) => time.duration_since(from).unwrap_or(Duration::ZERO),
        }
    }

    /// When the schedule fires, counting intervals from `from`.
    pub fn to_timestamp_from(&self, from: Timestamp) -> Timestamp {
        match *self {
            Self::Interval(interval) => from + interval.abs(),
            Self::Time(time) => time,
        }
    }

    /// The SATS type, `{ Interval: TimeDuration, Time: Timestamp }`.
    pub fn get_type() -> AlgebraicType {
        AlgebraicType::schedule_at()
    }
}

impl From<TimeDuration> for ScheduleAt {
    fn from(d: TimeDuration) -> Self {
        Self::Interval(d)
    }
}

impl From<Duration> for ScheduleAt {
    fn from(d: Duration) -> Self {
        Self::Interval(d.into())
    }
}

impl From<Timestamp> for ScheduleAt {
    fn from(t: Timestamp) -> Self {
        Self::Time(t)
    }
}

impl From<std::time::SystemTime> for ScheduleAt {
    fn from(t: std::time::SystemTime) -> Self {
        Self::Time(Timestamp::from_system_time(t))
    }
}

impl Encode for ScheduleAt {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Interval(d) => {
                out.push(0);
                d.encode(out);
            }
            Self::Time(t) => {
                out.push(1);
                t.encode(out);
            }
        }
    }
}

impl Decode for ScheduleAt {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match decode_tag(input, "ScheduleAt", 2)? {
            0 => TimeDuration::decode(input).map(Self::Interval),
            _ => Timestamp::decode(input).map(Self::Time),
        }
    }
}

impl SpacetimeType for ScheduleAt {
    fn make_type<S: TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::schedule_at()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firing_times() {
        let now = Timestamp::from_micros_since_unix_epoch(10_000);
        let every = ScheduleAt::from(TimeDuration::from_micros(-3_000));
        assert_eq!(every.to_duration_from(now), Duration::from_micros(3_000));
        assert_eq!(
            every.to_timestamp_from(now),
            Timestamp::from_micros_since_unix_epoch(13_000)
        );
        let once = ScheduleAt::from(Timestamp::from_micros_since_unix_epoch(12_000));
        assert_eq!(once.to_duration_from(now), Duration::from_micros(2_000));
        assert_eq!(
            ScheduleAt::Time(Timestamp::UNIX_EPOCH).to_duration_from(now),
            Duration::ZERO
        );
        assert_eq!(
            once.to_timestamp_from(now),
            Timestamp::from_micros_since_unix_epoch(12_000)
        );
    }
}
