//! [`Timestamp`] and [`TimeDuration`]: microsecond points and spans of time.

use crate::bsatn::{Decode, DecodeError, Encode};
use crate::{AlgebraicType, SpacetimeType, TypespaceBuilder};
use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time: microseconds since the Unix epoch.
/// SATS type `{ __timestamp_micros_since_unix_epoch__: I64 }`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    micros_since_unix_epoch: i64,
}

/// A signed span of time in microseconds. SATS type `{ __time_duration_micros__: I64 }`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimeDuration {
    micros: i64,
}

impl Timestamp {
    /// The Unix epoch.
    pub const UNIX_EPOCH: Self = Self { micros_since_unix_epoch: 0 };

    /// The timestamp `micros` microseconds after the Unix epoch.
    pub const fn from_micros_since_unix_epoch(micros: i64) -> Self {
        Self { micros_since_unix_epoch: micros }
    }

    /// Microseconds since the Unix epoch.
    pub const fn to_micros_since_unix_epoch(self) -> i64 {
        self.micros_since_unix_epoch
    }

    /// The current time from the system clock.
    ///
    /// Not available to modules (`wasm32-unknown-unknown` has no clock); they use
    /// `ctx.timestamp`.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn now() -> Self {
        Self::from_system_time(std::time::SystemTime::now())
    }

    /// Converts from a [`SystemTime`](std::time::SystemTime), saturating at the `i64` range.
    pub fn from_system_time(t: std::time::SystemTime) -> Self {
        let micros = match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_micros()).map(|m| -m).unwrap_or(i64::MIN),
        };
        Self::from_micros_since_unix_epoch(micros)
    }

    /// The span from `earlier` to `self` (negative if `earlier` is later).
    pub fn duration_since(self, earlier: Timestamp) -> TimeDuration {
        TimeDuration::from_micros(self.micros_since_unix_epoch.saturating_sub(earlier.micros_since_unix_epoch))
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: TimeDuration) -> Option<Self> {
        self.micros_since_unix_epoch.checked_add(d.micros).map(Self::from_micros_since_unix_epoch)
    }

    /// The RFC 3339 form with a `+00:00` offset, as SpacetimeDB's SQL output shows it
    /// (chrono's `to_rfc3339`): no fraction for whole seconds, three digits for whole
    /// milliseconds, six otherwise (`1970-01-01T00:00:01.500+00:00`); years beyond 9999
    /// carry a `+` sign and years before 0 a `-`.
    pub fn to_rfc3339(self) -> String {
        let micros = self.micros_since_unix_epoch;
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let day_secs = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (day_secs / 3600, (day_secs % 3600) / 60, day_secs % 60);
        let frac = match frac {
            0 => String::new(),
            f if f % 1000 == 0 => format!(".{:03}", f / 1000),
            f => format!(".{f:06}"),
        };
        let year = match y {
            0..=9999 => format!("{y:04}"),
            10_000.. => format!("+{y}"),
            _ => format!("-{:04}", y.unsigned_abs()),
        };
        format!("{year}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{frac}+00:00")
    }

    /// Parses an RFC 3339 timestamp (`2024-01-02T03:04:05[.ffffff](Z|±hh:mm)`).
    ///
    /// # Errors
    /// Returns a message saying what part of the text is not RFC 3339.
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        parse_rfc3339(s).ok_or_else(|| format!("invalid timestamp {s:?}: expected RFC 3339, such as 2024-01-02T03:04:05Z"))
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A proleptic Gregorian date to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let mut scaled = frac[..digits.min(6)].to_owned();
        while scaled.len() < 6 {
            scaled.push('0');
        }
        micros = scaled.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (rest.get(1..3)?.parse::<i64>().ok()?, rest.get(4..6)?.parse::<i64>().ok()?);
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    Some(Timestamp::from_micros_since_unix_epoch(secs.checked_mul(1_000_000)?.checked_add(micros)?))
}

impl TimeDuration {
    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: i64) -> Self {
        Self { micros }
    }

    /// The span in microseconds.
    pub const fn to_micros(self) -> i64 {
        self.micros
    }

    /// Converts from a [`Duration`], saturating at `i64::MAX` microseconds.
    pub fn from_duration(d: Duration) -> Self {
        Self::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }

    /// The absolute span as a [`Duration`].
    pub fn abs_duration(self) -> Duration {
        Duration::from_micros(self.micros.unsigned_abs())
    }

    /// The form the SQL output uses: a sign, whole seconds and six fractional digits
    /// (`+0.000000`, `-1.500000`).
    pub fn to_display_string(self) -> String {
        let sign = if self.micros < 0 { '-' } else { '+' };
        let abs = self.micros.unsigned_abs();
        format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
    }
}

impl From<Duration> for TimeDuration {
    fn from(d: Duration) -> Self {
        Self::from_duration(d)
    }
}

impl Add<TimeDuration> for Timestamp {
    type Output = Timestamp;

    fn add(self, d: TimeDuration) -> Timestamp {
        Timestamp::from_micros_since_unix_epoch(self.micros_since_unix_epoch.saturating_add(d.micros))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, d: Duration) -> Timestamp {
        self + TimeDuration::from_duration(d)
    }
}

impl Sub<TimeDuration> for Timestamp {
    type Output = Timestamp;

    fn sub(self, d: TimeDuration) -> Timestamp {
        Timestamp::from_micros_since_unix_epoch(self.micros_since_unix_epoch.saturating_sub(d.micros))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

impl fmt::Display for TimeDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_display_string())
    }
}

impl fmt::Debug for TimeDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeDuration({})", self.to_display_string())
    }
}

impl Encode for Timestamp {
    fn encode(&self, out: &mut Vec<u8>) {
        self.micros_since_unix_epoch.encode(out)
    }
}

impl Decode for Timestamp {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        i64::decode(input).map(Self::from_micros_since_unix_epoch)
    }
}

impl SpacetimeType for Timestamp {
    fn make_type<S: TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::timestamp()
    }
}

impl Encode for TimeDuration {
    fn encode(&self, out: &mut Vec<u8>) {
        self.micros.encode(out)
    }
}

impl Decode for TimeDuration {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        i64::decode(input).map(Self::from_micros)
    }
}

impl SpacetimeType for TimeDuration {
    fn make_type<S: TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::time_duration()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        for micros in [0, 1, -1, 1_700_000_000_123_456, -62_135_596_800_000_000, 951_782_400_000_000] {
            let t = Timestamp::from_micros_since_unix_epoch(micros);
            assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Ok(t), "{}", t.to_rfc3339());
        }
        assert_eq!(Timestamp::UNIX_EPOCH.to_rfc3339(), "1970-01-01T00:00:00+00:00");
        // Pairs printed by SpacetimeDB 2.10.1 (chrono's `to_rfc3339`).
        for (micros, text) in [
            (1, "1970-01-01T00:00:00.000001+00:00"),
            (1_500_000, "1970-01-01T00:00:01.500+00:00"),
            (1_000, "1970-01-01T00:00:00.001+00:00"),
            (123_456_789, "1970-01-01T00:02:03.456789+00:00"),
            (-1, "1969-12-31T23:59:59.999999+00:00"),
            (-1_500_000, "1969-12-31T23:59:58.500+00:00"),
            (1_700_000_000_123_000, "2023-11-14T22:13:20.123+00:00"),
            (253_402_300_800_000_000, "+10000-01-01T00:00:00+00:00"),
            (-62_135_596_800_000_001, "0000-12-31T23:59:59.999999+00:00"),
        ] {
            assert_eq!(Timestamp::from_micros_since_unix_epoch(micros).to_rfc3339(), text);
        }
        assert_eq!(Timestamp::parse_rfc3339("2000-02-29T00:00:00Z").unwrap().to_rfc3339(), "2000-02-29T00:00:00+00:00");
        assert!(Timestamp::parse_rfc3339("2000-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn duration_display() {
        assert_eq!(TimeDuration::from_micros(0).to_display_string(), "+0.000000");
        assert_eq!(TimeDuration::from_micros(-1_500_000).to_display_string(), "-1.500000");
        assert_eq!(TimeDuration::from_micros(1_700_000_000_123_000).to_display_string(), "+1700000000.123000");
    }
}
