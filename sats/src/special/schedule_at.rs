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
