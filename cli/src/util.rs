//! Small helpers shared by the verbs: the UNSTABLE banner, yes/no prompts, database-name
//! validation, identity parsing and "did you mean" suggestions.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, IsTerminal, Write};

/// Printed to stderr by the verbs upstream marks unstable (`call`, `sql`, `describe`,
/// `list`, `server`).
pub const UNSTABLE_WARNING: &str = "WARNING: This command is UNSTABLE and subject to breaking changes.";

/// Prints the UNSTABLE banner (and the blank line after it) to stderr.
pub fn warn_unstable() {
    eprintln!("{UNSTABLE_WARNING}\n");
}

/// Whether stdin is a terminal, i.e. a person can answer a prompt.
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks `question` on stdout and reads one line from stdin. `y`/`yes` means yes; an empty
/// answer means `default`; end of input means no.
///
/// # Errors
/// When stdout or stdin fail.
pub fn confirm(question: &str, default: bool) -> Result<bool> {
    let hint = if default { "[Y/n]" } else { "[y/N]" };
    print!("{question} {hint} ");
    std::io::stdout().flush().context("cannot write to stdout")?;
    let mut line = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the answer from stdin")?;
    if read == 0 {
        println!();
        return Ok(false);
    }
    let answer = line.trim().to_ascii_lowercase();
    Ok(match answer.as_str() {
        "" => default,
        "y" | "yes" => true,
        _ => false,
    })
}

/// Checks a database name against `^[a-z0-9]+(-[a-z0-9]+)*$`.
///
/// # Errors
/// With a message that says which rule the name breaks and how to fix it.
pub fn validate_database_name(name: &str) -> Result<()> {
    let fix = "database names use lower-case letters, digits and single hyphens between them, e.g. `my-game-2`";
    if name.is_empty() {
        bail!("the database name is empty; {fix}");
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        bail!("invalid database name `{name}`: `{bad}` is not allowed; {fix}");
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        bail!("invalid database name `{name}`: hyphens must sit between letters or digits; {fix}");
    }
    Ok(())
}

/// If `s` is a 64-digit hex identity (optionally `0x`-prefixed), its lower-case hex.
pub fn parse_identity_hex(s: &str) -> Option<String> {
    let hex = s.strip_prefix("0x").unwrap_or(s);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_ascii_lowercase())
}

/// Reads an identity from the JSON forms servers send: `"c200…"`, `"0xc200…"`,
/// `{"__identity__": "0x…"}` or `["0x…"]`.
pub fn identity_from_json(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => parse_identity_hex(s),
        serde_json::Value::Object(map) => map.get("__identity__").and_then(identity_from_json),
        serde_json::Value::Array(items) if items.len() == 1 => identity_from_json(&items[0]),
        _ => None,
    }
}

/// The Levenshtein distance between `a` and `b`, counted in chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur.push(substitute.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate most likely meant by `name`: a case-insensitive match, else the closest
/// one within a third of the name's length.
pub fn best_match<'a>(candidates: &[&'a str], name: &str) -> Option<&'a str> {
    if let Some(exact) = candidates.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        return Some(exact);
    }
    let limit = name.chars().count().max(3) / 3;
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names() {
        for ok in ["a", "my-db", "x1-2-y", "0"] {
            validate_database_name(ok).unwrap();
        }
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "a/b", "a b"] {
            assert!(validate_database_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identities() {
        let hex = "c200".to_owned() + &"ab".repeat(30);
        assert_eq!(parse_identity_hex(&hex).as_deref(), Some(hex.as_str()));
        assert_eq!(
            parse_identity_hex(&format!("0x{}", hex.to_uppercase())).as_deref(),
            Some(hex.as_str())
        );
        assert_eq!(parse_identity_hex("my-db"), None);
        let json = serde_json::json!({ "__identity__": format!("0x{hex}") });
        assert_eq!(identity_from_json(&json).as_deref(), Some(hex.as_str()));
        assert_eq!(
            identity_from_json(&serde_json::json!([hex.clone()])).as_deref(),
            Some(hex.as_str())
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(best_match(&["say_hello", "add"], "say_hell"), Some("say_hello"));
        assert_eq!(best_match(&["say_hello"], "SAY_HELLO"), Some("say_hello"));
        assert_eq!(best_match(&["say_hello"], "non_existent_reducer"), None);
    }
}
