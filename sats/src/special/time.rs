//! [`Timestamp`] and [`TimeDuration`]: microsecond points and spans of time.

use crate::bsatn::{Decode, DecodeError, Encode};
use crate::{AlgebraicType, SpacetimeType, TypespaceBuilder};
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::{Duration, SystemTime};

/// Text that is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {input:?}: expected RFC 3339, such as 2024-01-02T03:04:05Z")]
pub struct Rfc3339Error {
    /// The rejected text.
    pub input: String,
}

/// A timestamp outside the calendar years -262143 to 262142, which have no RFC 3339 form
/// in SpacetimeDB (it formats with chrono, whose dates end there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timestamp {micros} microseconds from the Unix epoch is outside the years -262143 to 262142")]
pub struct TimestampRangeError {
    /// The timestamp, in microseconds since the Unix epoch.
    pub micros: i64,
}

/// The calendar years that have an RFC 3339 form, as in chrono.
const RFC3339_YEARS: std::ops::RangeInclusive<i64> = -262_143..=262_142;

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
    pub const UNIX_EPOCH: Self = Self {
        micros_since_unix_epoch: 0,
    };

    /// The timestamp `micros` microseconds after the Unix epoch.
    pub const fn from_micros_since_unix_epoch(micros: i64) -> Self {
        Self {
            micros_since_unix_epoch: micros,
        }
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

    /// Not available to modules: `wasm32-unknown-unknown` has no clock. It exists, as in
    /// SpacetimeDB, so that code shared with native crates compiles; a reducer reads
    /// `ctx.timestamp`.
    ///
    /// # Panics
    /// Always, naming `ctx.timestamp` as the replacement.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    #[deprecated = "Timestamp::now() panics in a module; read the `timestamp` field of the `ReducerContext` instead"]
    pub fn now() -> Self {
        panic!("Timestamp::now() is not available in a module (there is no clock): read `ctx.timestamp` instead")
    }

    /// The timestamp `time_duration` after the Unix epoch.
    pub const fn from_time_duration_since_unix_epoch(time_duration: TimeDuration) -> Self {
        Self::from_micros_since_unix_epoch(time_duration.micros)
    }

    /// The span since the Unix epoch (negative before it).
    pub const fn to_time_duration_since_unix_epoch(self) -> TimeDuration {
        TimeDuration::from_micros(self.micros_since_unix_epoch)
    }

    /// `Ok(span since the epoch)`, or `Err(span before the epoch)` for earlier times.
    pub fn to_duration_since_unix_epoch(self) -> Result<Duration, Duration> {
        self.to_time_duration_since_unix_epoch().to_duration()
    }

    /// The timestamp `duration` after the Unix epoch, saturating at the `i64` range.
    pub fn from_duration_since_unix_epoch(duration: Duration) -> Self {
        Self::from_time_duration_since_unix_epoch(TimeDuration::from_duration(duration))
    }

    /// The same point in time as a [`SystemTime`].
    ///
    /// # Panics
    /// If the platform's `SystemTime` cannot hold it; on Unix and Windows it always can.
    pub fn to_system_time(self) -> SystemTime {
        let time = match self.to_duration_since_unix_epoch() {
            Ok(after) => SystemTime::UNIX_EPOCH.checked_add(after),
            Err(before) => SystemTime::UNIX_EPOCH.checked_sub(before),
        };
        time.unwrap_or_else(|| panic!("{self:?} is out of range for this platform's SystemTime"))
    }

    /// Converts from a [`SystemTime`], saturating at the `i64` range. Times before the
    /// epoch give negative timestamps.
    pub fn from_system_time(t: SystemTime) -> Self {
        let micros = match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_micros()).map(|m| -m).unwrap_or(i64::MIN),
        };
        Self::from_micros_since_unix_epoch(micros)
    }

    /// The [`Duration`] from `earlier` to `self`; `None` if `earlier` is later or the span
    /// overflows.
    pub fn duration_since(self, earlier: Timestamp) -> Option<Duration> {
        self.time_duration_since(earlier)?.to_duration().ok()
    }

    /// The span from `earlier` to `self`, negative if `earlier` is later; `None` if it
    /// overflows `i64` microseconds.
    pub fn time_duration_since(self, earlier: Timestamp) -> Option<TimeDuration> {
        self.micros_since_unix_epoch
            .checked_sub(earlier.micros_since_unix_epoch)
            .map(TimeDuration::from_micros)
    }

    /// The span from `earlier` to `self` (negative if `earlier` is later), saturating at
    /// the `i64` range instead of failing: for timers, where a far-off time is as good as
    /// the farthest one.
    pub fn time_duration_since_saturating(self, earlier: Timestamp) -> TimeDuration {
        TimeDuration::from_micros(
            self.micros_since_unix_epoch
                .saturating_sub(earlier.micros_since_unix_epoch),
        )
    }

    /// `self + duration`, or `None` if that is out of range.
    pub fn checked_add(&self, duration: TimeDuration) -> Option<Self> {
        self.micros_since_unix_epoch
            .checked_add(duration.micros)
            .map(Self::from_micros_since_unix_epoch)
    }

    /// `self - duration`, or `None` if that is out of range.
    pub fn checked_sub(&self, duration: TimeDuration) -> Option<Self> {
        self.micros_since_unix_epoch
            .checked_sub(duration.micros)
            .map(Self::from_micros_since_unix_epoch)
    }

    /// `self + duration` (whole microseconds), or `None` if that is out of range.
    pub fn checked_add_duration(&self, duration: Duration) -> Option<Self> {
        self.checked_add(TimeDuration::checked_from_duration(duration)?)
    }

    /// `self - duration` (whole microseconds), or `None` if that is out of range.
    pub fn checked_sub_duration(&self, duration: Duration) -> Option<Self> {
        self.checked_sub(TimeDuration::checked_from_duration(duration)?)
    }

    /// The RFC 3339 form with a `+00:00` offset, as SpacetimeDB formats it (chrono's
    /// `to_rfc3339`): no fraction for whole seconds, three digits for whole milliseconds,
    /// six otherwise (`1970-01-01T00:00:01.500+00:00`); years beyond 9999 carry a `+` sign
    /// and years before 0 a `-`. The [`Display`](fmt::Display) form is the same text.
    ///
    /// # Errors
    /// [`TimestampRangeError`] for years outside -262143 to 262142.
    pub fn to_rfc3339(&self) -> Result<String, TimestampRangeError> {
        let days = self.micros_since_unix_epoch.div_euclid(86_400_000_000);
        if !RFC3339_YEARS.contains(&civil_from_days(days).0) {
            return Err(TimestampRangeError {
                micros: self.micros_since_unix_epoch,
            });
        }
        Ok(self.to_string())
    }

    /// The text of [`Timestamp::to_rfc3339`], for any year.
    fn write_rfc3339(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.micros_since_unix_epoch;
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let day_secs = secs.rem_euclid(86_400);
        match y {
            0..=9999 => write!(f, "{y:04}")?,
            10_000.. => write!(f, "+{y}")?,
            _ => write!(f, "-{:04}", y.unsigned_abs())?,
        }
        write!(
            f,
            "-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            day_secs / 3600,
            (day_secs % 3600) / 60,
            day_secs % 60
        )?;
        match frac {
            0 => {}
            f_ if f_ % 1000 == 0 => write!(f, ".{:03}", f_ / 1000)?,
            f_ => write!(f, ".{f_:06}")?,
        }
        f.write_str("+00:00")
    }

    /// Parses an RFC 3339 timestamp (`2024-01-02T03:04:05[.ffffff](Z|±hh:mm)`; a space may
    /// stand for the `T`). Digits beyond microseconds are dropped.
    ///
    /// # Errors
    /// [`Rfc3339Error`] if the text is not RFC 3339 or out of range.
    pub fn parse_from_rfc3339(s: &str) -> Result<Self, Rfc3339Error> {
        parse_rfc3339(s).ok_or_else(|| Rfc3339Error { input: s.to_owned() })
    }

    /// [`Timestamp::parse_from_rfc3339`] with the error as text, for callers that report
    /// strings.
    ///
    /// # Errors
    /// A message saying the text is not RFC 3339.
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        Self::parse_from_rfc3339(s).map_err(|e| e.to_string())
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
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
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
            let (oh, om) = (
                rest.get(1..3)?.parse::<i64>().ok()?,
                rest.get(4..6)?.parse::<i64>().ok()?,
            );
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    Some(Timestamp::from_micros_since_unix_epoch(
        secs.checked_mul(1_000_000)?.checked_add(micros)?,
    ))
}

impl TimeDuration {
    /// The empty span.
    pub const ZERO: Self = Self { micros: 0 };

    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: i64) -> Self {
        Self { micros }
    }

    /// The span in microseconds.
    pub const fn to_micros(self) -> i64 {
        self.micros
    }

    /// Converts from a [`Duration`] (whole microseconds), saturating at `i64::MAX`
    /// microseconds.
    pub fn from_duration(duration: Duration) -> Self {
        Self::checked_from_duration(duration).unwrap_or(Self::from_micros(i64::MAX))
    }

    fn checked_from_duration(duration: Duration) -> Option<Self> {
        i64::try_from(duration.as_micros()).ok().map(Self::from_micros)
    }

    /// `Ok(span)` for a span of zero or more, `Err(its magnitude)` for a negative one.
    pub fn to_duration(self) -> Result<Duration, Duration> {
        let magnitude = Duration::from_micros(self.micros.unsigned_abs());
        if self.micros >= 0 {
            Ok(magnitude)
        } else {
            Err(magnitude)
        }
    }

    /// The magnitude of the span.
    pub fn to_duration_abs(self) -> Duration {
        match self.to_duration() {
            Ok(d) | Err(d) => d,
        }
    }

    /// The span, or zero if it is negative.
    pub fn to_duration_saturating(self) -> Duration {
        self.to_duration().unwrap_or(Duration::ZERO)
    }

    /// The magnitude of the span, saturating at `i64::MAX` microseconds.
    pub fn abs(self) -> Self {
        Self::from_micros(self.micros.saturating_abs())
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.micros.checked_add(other.micros).map(Self::from_micros)
    }

    /// `self - other`, or `None` on overflow.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.micros.checked_sub(other.micros).map(Self::from_micros)
    }

    /// The ISO 8601 form as SpacetimeDB writes it (chrono's): `P0D` for zero, otherwise
    /// `PT{seconds}S` with the fraction's trailing zeros dropped, and a leading `-` when
    /// negative (`PT1.5S`, `-PT0.000001S`).
    pub fn to_iso8601(self) -> String {
        if self.micros == 0 {
            return "P0D".to_owned();
        }
        let sign = if self.micros < 0 { "-" } else { "" };
        let abs = self.micros.unsigned_abs();
        let (secs, frac) = (abs / 1_000_000, abs % 1_000_000);
        if frac == 0 {
            return format!("{sign}PT{secs}S");
        }
        let digits = format!("{frac:06}");
        format!("{sign}PT{secs}.{}S", digits.trim_end_matches('0'))
    }

    /// The form the SQL output uses, the same as [`Display`](fmt::Display): a sign, whole
    /// seconds and six fractional digits (`+0.000000`, `-1.500000`).
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

impl TryFrom<TimeDuration> for Duration {
    /// The magnitude of a negative span.
    type Error = Duration;

    fn try_from(d: TimeDuration) -> Result<Duration, Duration> {
        d.to_duration()
    }
}

// Arithmetic saturates at the `i64` range rather than panicking as SpacetimeDB's does:
// the server adds user-supplied intervals to the clock, where the farthest time is the
// right answer. `checked_*` report overflow.
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

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;

    fn sub(self, d: Duration) -> Timestamp {
        self - TimeDuration::from_duration(d)
    }
}

impl Add for TimeDuration {
    type Output = TimeDuration;

    fn add(self, rhs: TimeDuration) -> TimeDuration {
        TimeDuration::from_micros(self.micros.saturating_add(rhs.micros))
    }
}

impl Sub for TimeDuration {
    type Output = TimeDuration;

    fn sub(self, rhs: TimeDuration) -> TimeDuration {
        TimeDuration::from_micros(self.micros.saturating_sub(rhs.micros))
    }
}

macro_rules! assign_ops {
    ($($target:ty: $rhs:ty),*) => {$(
        impl AddAssign<$rhs> for $target {
            fn add_assign(&mut self, rhs: $rhs) {
                *self = *self + rhs;
            }
        }
        impl SubAssign<$rhs> for $target {
            fn sub_assign(&mut self, rhs: $rhs) {
                *self = *self - rhs;
            }
        }
    )*};
}

assign_ops!(Timestamp: TimeDuration, Timestamp: Duration, TimeDuration: TimeDuration);

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Self::from_system_time(t)
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> Self {
        t.to_system_time()
    }
}

impl fmt::Display for Timestamp {
    /// The text of [`Timestamp::to_rfc3339`]; years outside its range are written the same
    /// way rather than failing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_rfc3339(f)
    }
}

// Debug forms are the derived ones of SpacetimeDB's types, so module logs read the same.
impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timestamp")
            .field("__timestamp_micros_since_unix_epoch__", &self.micros_since_unix_epoch)
            .finish()
    }
}

impl fmt::Display for TimeDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_display_string())
    }
}

impl fmt::Debug for TimeDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeDuration")
            .field("__time_duration_micros__", &self.micros)
            .finish()
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
        for micros in [
            0,
            1,
            -1,
            1_700_000_000_123_456,
            -62_135_596_800_000_000,
            951_782_400_000_000,
        ] {
            let t = Timestamp::from_micros_since_unix_epoch(micros);
            assert_eq!(Timestamp::parse_from_rfc3339(&t.to_string()), Ok(t), "{t}");
        }
        assert_eq!(Timestamp::UNIX_EPOCH.to_rfc3339().unwrap(), "1970-01-01T00:00:00+00:00");
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
            assert_eq!(
                Timestamp::from_micros_since_unix_epoch(micros).to_rfc3339().as_deref(),
                Ok(text)
            );
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2000-02-29T00:00:00Z").unwrap().to_string(),
            "2000-02-29T00:00:00+00:00"
        );
        assert!(Timestamp::parse_rfc3339("2000-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn duration_display() {
        assert_eq!(TimeDuration::from_micros(0).to_display_string(), "+0.000000");
        assert_eq!(TimeDuration::from_micros(-1_500_000).to_display_string(), "-1.500000");
        assert_eq!(
            TimeDuration::from_micros(1_700_000_000_123_000).to_display_string(),
            "+1700000000.123000"
        );
    }

    #[test]
    fn spans_between_timestamps() {
        let (a, b) = (
            Timestamp::from_micros_since_unix_epoch(1_000),
            Timestamp::from_micros_since_unix_epoch(3_500),
        );
        assert_eq!(b.duration_since(a), Some(Duration::from_micros(2_500)));
        assert_eq!(a.duration_since(b), None);
        assert_eq!(a.time_duration_since(b), Some(TimeDuration::from_micros(-2_500)));
        assert_eq!(
            Timestamp::from_micros_since_unix_epoch(i64::MIN).time_duration_since(b),
            None
        );
        assert_eq!(
            Timestamp::from_micros_since_unix_epoch(i64::MIN).time_duration_since_saturating(b),
            TimeDuration::from_micros(i64::MIN)
        );
        let max = Timestamp::from_micros_since_unix_epoch(i64::MAX);
        assert_eq!(max.checked_add(TimeDuration::from_micros(1)), None);
        assert_eq!(
            a.checked_sub(TimeDuration::from_micros(1_000)),
            Some(Timestamp::UNIX_EPOCH)
        );
        assert_eq!(
            a.checked_add_duration(Duration::from_millis(2)),
            Some(Timestamp::from_micros_since_unix_epoch(3_000))
        );
        assert_eq!(a.checked_sub_duration(Duration::MAX), None);
        assert_eq!(max + TimeDuration::from_micros(5), max);
        let mut t = a;
        t += Duration::from_micros(5);
        t -= TimeDuration::from_micros(1);
        assert_eq!(t - Duration::from_micros(4), a);
        assert_eq!(
            Timestamp::from_micros_since_unix_epoch(-7).to_duration_since_unix_epoch(),
            Err(Duration::from_micros(7))
        );
        assert_eq!(
            Timestamp::from_duration_since_unix_epoch(Duration::from_secs(2)).to_micros_since_unix_epoch(),
            2_000_000
        );
        assert_eq!(Timestamp::from_system_time(a.to_system_time()), a);
        assert_eq!(
            Timestamp::from(SystemTime::from(Timestamp::from_micros_since_unix_epoch(-5))).to_micros_since_unix_epoch(),
            -5
        );
    }

    #[test]
    fn time_duration_conversions() {
        let neg = TimeDuration::from_micros(-1_500_000);
        assert_eq!(neg.to_duration(), Err(Duration::from_millis(1_500)));
        assert_eq!(neg.to_duration_abs(), Duration::from_millis(1_500));
        assert_eq!(neg.to_duration_saturating(), Duration::ZERO);
        assert_eq!(Duration::try_from(neg.abs()), Ok(Duration::from_millis(1_500)));
        assert_eq!(TimeDuration::from_micros(i64::MIN).abs().to_micros(), i64::MAX);
        assert_eq!(
            TimeDuration::from_micros(i64::MAX).checked_add(TimeDuration::from_micros(1)),
            None
        );
        assert_eq!(neg.checked_sub(neg), Some(TimeDuration::ZERO));
        let mut d = TimeDuration::from_micros(1);
        d += TimeDuration::from_micros(2);
        d -= TimeDuration::from_micros(1);
        assert_eq!(d + neg - neg, TimeDuration::from_micros(2));
    }

    // Forms printed by SpacetimeDB 2.10.1 (chrono's `TimeDelta` display, derived Debug).
    #[test]
    fn iso8601_and_debug_forms() {
        for (micros, text) in [
            (0, "P0D"),
            (1_500_000, "PT1.5S"),
            (-1, "-PT0.000001S"),
            (60_000_000, "PT60S"),
            (-2_000_010, "-PT2.00001S"),
        ] {
            assert_eq!(TimeDuration::from_micros(micros).to_iso8601(), text);
        }
        assert_eq!(
            format!("{:?}", TimeDuration::from_micros(5)),
            "TimeDuration { __time_duration_micros__: 5 }"
        );
        assert_eq!(
            format!("{:?}", Timestamp::from_micros_since_unix_epoch(-3)),
            "Timestamp { __timestamp_micros_since_unix_epoch__: -3 }"
        );
    }

    #[test]
    fn rfc3339_range_is_chronos() {
        let first_day_after = days_from_civil(262_143, 1, 1) * 86_400_000_000;
        let last_micro = Timestamp::from_micros_since_unix_epoch(first_day_after - 1);
        assert_eq!(
            last_micro.to_rfc3339().as_deref(),
            Ok("+262142-12-31T23:59:59.999999+00:00")
        );
        let too_late = Timestamp::from_micros_since_unix_epoch(first_day_after);
        assert_eq!(
            too_late.to_rfc3339(),
            Err(TimestampRangeError {
                micros: first_day_after
            })
        );
        assert_eq!(too_late.to_string(), "+262143-01-01T00:00:00+00:00");
        let first_day = days_from_civil(-262_143, 1, 1) * 86_400_000_000;
        assert!(Timestamp::from_micros_since_unix_epoch(first_day).to_rfc3339().is_ok());
        assert!(Timestamp::from_micros_since_unix_epoch(first_day - 1)
            .to_rfc3339()
            .is_err());
        assert_eq!(
            Timestamp::parse_from_rfc3339("nope"),
            Err(Rfc3339Error { input: "nope".into() })
        );
    }
}
