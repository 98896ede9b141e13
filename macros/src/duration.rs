//! `duration!("1500ms")`: a `Duration` literal parsed at compile time.

use crate::gen::private;
use proc_macro2::TokenStream;
use quote::quote;
use std::time::Duration;

pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let lit: syn::LitStr = syn::parse2(input)
        .map_err(|e| syn::Error::new(e.span(), "expected a duration string, e.g. `duration!(\"1500ms\")`"))?;
    let dur = parse(&lit.value()).map_err(|msg| syn::Error::new(lit.span(), msg))?;
    let (secs, nanos) = (dur.as_secs(), dur.subsec_nanos());
    let p = private();
    Ok(quote!({
        const DURATION: #p::Duration = #p::Duration::new(#secs, #nanos);
        DURATION
    }))
}

/// Parses one or more `<number><unit>` terms separated by optional spaces, summing them.
fn parse(text: &str) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration: write e.g. \"1500ms\" or \"2h 30m\"".into());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a number at `{rest}` in {text:?}"));
        }
        let value: u64 = rest[..digits].parse().map_err(|_| format!("number too large in {text:?}"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c.is_whitespace()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let nanos_per: u128 = match unit {
            "ns" | "nsec" => 1,
            "us" | "µs" | "usec" => 1_000,
            "ms" | "msec" => 1_000_000,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60 * 1_000_000_000,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600 * 1_000_000_000,
            "d" | "day" | "days" => 86_400 * 1_000_000_000,
            "" => return Err(format!("missing unit after {value} in {text:?}: use ns, us, ms, s, m, h or d")),
            other => return Err(format!("unknown unit `{other}` in {text:?}: use ns, us, ms, s, m, h or d")),
        };
        let nanos = u128::from(value) * nanos_per + total.as_nanos();
        let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| format!("duration {text:?} is too long"))?;
        total = Duration::new(secs, (nanos % 1_000_000_000) as u32);
    }
    Ok(total)
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
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("5").unwrap_err().contains("missing unit"));
        assert!(parse("5 parsecs").unwrap_err().contains("unknown unit `parsecs`"));
        assert!(parse("ms").unwrap_err().contains("expected a number"));
    }
}
