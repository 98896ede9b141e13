//! `duration!("1500ms")`: a `Duration` literal parsed at compile time.

use crate::gen::private;
use proc_macro2::TokenStream;
use quote::quote;
use std::time::Duration;

pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    // `duration!("1500ms")`, or unquoted as an integer literal with a unit suffix,
    // `duration!(1500ms)`, as SpacetimeDB accepts.
    let (text, span) = match syn::parse2::<syn::Lit>(input.clone()) {
        Ok(syn::Lit::Str(s)) => (s.value(), s.span()),
        Ok(syn::Lit::Int(i)) => (i.to_string(), i.span()),
        Ok(syn::Lit::Float(f)) => (f.to_string(), f.span()),
        _ => {
            let span = input
                .into_iter()
                .next()
                .map_or_else(proc_macro2::Span::call_site, |t| t.span());
            return Err(syn::Error::new(
                span,
                "expected a duration such as `duration!(\"1500ms\")` or `duration!(2s)`",
            ));
        }
    };
    let dur = parse(&text).map_err(|msg| syn::Error::new(span, msg))?;
    let (secs, nanos) = (dur.as_secs(), dur.subsec_nanos());
    let p = private();
    Ok(quote!({
        const DURATION: #p::Duration = #p::Duration::new(#secs, #nanos);
        DURATION
    }))
}

const UNITS: &str = "ns, us, ms, s, m, h, d, w, M (30.44 days) or y (365.25 days)";

/// Nanoseconds per unit, for the unit names SpacetimeDB's `duration!` (humantime) knows.
fn unit_nanos(unit: &str) -> Option<u128> {
    const SEC: u128 = 1_000_000_000;
    Some(match unit {
        "nanos" | "nsec" | "ns" => 1,
        "usec" | "us" | "µs" => 1_000,
        "millis" | "msec" | "ms" => 1_000_000,
        "seconds" | "second" | "secs" | "sec" | "s" => SEC,
        "minutes" | "minute" | "min" | "mins" | "m" => 60 * SEC,
        "hours" | "hour" | "hr" | "hrs" | "h" => 3_600 * SEC,
        "days" | "day" | "d" => 86_400 * SEC,
        "weeks" | "week" | "wk" | "wks" | "w" => 7 * 86_400 * SEC,
        "months" | "month" | "M" => 2_630_016 * SEC,
        "years" | "year" | "yr" | "yrs" | "y" => 31_557_600 * SEC,
        _ => return None,
    })
}

/// Parses one or more `<number>[.<fraction>]<unit>` terms separated by optional spaces,
/// summing them. A fraction must come out to whole nanoseconds.
fn parse(text: &str) -> Result<Duration, String> {
    let mut total: u128 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration: write e.g. \"1500ms\" or \"2h 30m\"".into());
    }
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if int_len == 0 {
            return Err(format!("expected a number at `{rest}` in {text:?}"));
        }
        let too_large = || format!("duration {text:?} is too long");
        let int: u128 = rest[..int_len].parse().map_err(|_| too_large())?;
        rest = &rest[int_len..];
        let (mut numerator, mut denominator) = (0u128, 1u128);
        if let Some(frac) = rest.strip_prefix('.') {
            let frac_len = frac.bytes().take_while(u8::is_ascii_digit).count();
            if frac_len == 0 || frac_len > 18 {
                return Err(format!("expected 1 to 18 digits after the `.` in {text:?}"));
            }
            numerator = frac[..frac_len].parse().map_err(|_| too_large())?;
            denominator = 10u128.pow(frac_len as u32);
            rest = &frac[frac_len..];
        }
        rest = rest.trim_start();
        let unit_len = rest.find(|c: char| !(c.is_alphabetic())).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let per = match unit_nanos(unit) {
            Some(per) => per,
            None if unit.is_empty() => return Err(format!("missing unit after {int} in {text:?}: use {UNITS}")),
            None => return Err(format!("unknown unit `{unit}` in {text:?}: use {UNITS}")),
        };
        if numerator * per % denominator != 0 {
            return Err(format!("{text:?} is not a whole number of nanoseconds"));
        }
        total = int
            .checked_mul(per)
            .and_then(|n| n.checked_add(numerator * per / denominator))
            .and_then(|n| n.checked_add(total))
            .ok_or_else(too_large)?;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| format!("duration {text:?} is too long"))?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::parse;
    use std::time::Duration;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(parse("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2h 30m"), Ok(Duration::from_secs(9000)));
        assert_eq!(parse("1s500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse("2 weeks 1M"), Ok(Duration::from_secs(14 * 86_400 + 2_630_016)));
        assert_eq!(parse("0.25us"), Ok(Duration::from_nanos(250)));
        assert_eq!(parse("1y"), Ok(Duration::from_secs(31_557_600)));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("5").unwrap_err().contains("missing unit"));
        assert!(parse("5 parsecs").unwrap_err().contains("unknown unit `parsecs`"));
        assert!(parse("ms").unwrap_err().contains("expected a number"));
        assert!(parse("1.5ns").unwrap_err().contains("whole number of nanoseconds"));
        assert!(parse("1.s").unwrap_err().contains("digits after"));
        assert!(parse("99999999999999999999y").unwrap_err().contains("too long"));
    }
}
