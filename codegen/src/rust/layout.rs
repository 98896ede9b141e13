//! Line breaking for the generated constructs whose shape rustfmt chooses by their length,
//! so that the Rust bindings are already what `rustfmt` (with the repository's
//! `rustfmt.toml`, `max_width = 120`, everything else default) would write.
//!
//! Everything else in the templates has one shape whatever the names are (a struct
//! literal with a method call in it never fits rustfmt's struct-literal width, a trait
//! method taking a callback never fits one line); what is left is decided here, from the
//! widths rustfmt derives from `max_width`. The codegen tests run rustfmt over the output
//! for every fixture, with short and long names, to keep these rules honest.

use std::cmp::Ordering;

/// rustfmt's `max_width`, as the repository's `rustfmt.toml` sets it.
const MAX_WIDTH: usize = 120;
/// One level of indentation.
const INDENT: &str = "    ";

/// rustfmt's width heuristics are percentages of `max_width`, rounded.
const fn percent_of_max(percent: usize) -> usize {
    (MAX_WIDTH * percent + 50) / 100
}

/// The widest list of fields a struct literal or pattern keeps on one line.
pub(super) const STRUCT_LIT_WIDTH: usize = percent_of_max(18);
/// The widest list of fields an enum's struct variant keeps on one line.
pub(super) const STRUCT_VARIANT_WIDTH: usize = percent_of_max(35);
/// The widest argument list a call keeps on one line.
const FN_CALL_WIDTH: usize = percent_of_max(60);
/// The widest array literal kept on one line.
const ARRAY_WIDTH: usize = percent_of_max(60);
/// Array items up to this width are packed several to a line once the array breaks.
const SHORT_ARRAY_ELEMENT_WIDTH: usize = 10;

fn indent(level: usize) -> String {
    INDENT.repeat(level)
}

/// `{open}` at `level`, then each item on a line of its own one level deeper and followed
/// by a comma, then `{close}` at `level`.
fn vertical(level: usize, open: &str, items: &[String], close: &str) -> String {
    let pad = indent(level);
    let inner = indent(level + 1);
    let mut out = format!("{pad}{open}\n");
    for item in items {
        out.push_str(&format!("{inner}{item},\n"));
    }
    out.push_str(&format!("{pad}{close}"));
    out
}

/// `{head} { a, b }{tail}` on one line at `level` if the fields fit in `width` (one of the
/// struct widths above) and the line fits, else one field per line; just `{head}{tail}`
/// without fields.
pub(super) fn braced(level: usize, head: &str, fields: &[String], tail: &str, width: usize) -> String {
    let pad = indent(level);
    if fields.is_empty() {
        return format!("{pad}{head}{tail}");
    }
    let inline = fields.join(", ");
    let line = format!("{pad}{head} {{ {inline} }}{tail}");
    if inline.len() <= width && line.len() <= MAX_WIDTH {
        return line;
    }
    vertical(level, &format!("{head} {{"), fields, &format!("}}{tail}"))
}

/// A function signature at `level`: `{head}(params){ret}{end}` on one line if it fits,
/// else one parameter per line. `end` is `;` for a declaration, ` {` for a definition.
pub(super) fn signature(level: usize, head: &str, params: &[String], ret: &str, end: &str) -> String {
    let pad = indent(level);
    let line = format!("{pad}{head}({}){ret}", params.join(", "));
    // rustfmt keeps room for ` {` after a signature whether or not a body follows.
    if line.len() + 2 <= MAX_WIDTH {
        return format!("{line}{end}");
    }
    vertical(level, &format!("{head}("), params, &format!("){ret}{end}"))
}

/// A call statement at `level` whose last argument is the closure `|{param}| {body}`: on
/// one line if the arguments fit; else, for a method, on one line under its receiver if
/// that fits; else, if the other arguments and the closure's head fit
/// the call width, with the closure's body in a block after them; else one argument per
/// line. (A closure as the only argument may take the whole line.)
pub(super) fn call_with_closure(level: usize, callee: &str, args: &[String], param: &str, body: &str) -> String {
    let pad = indent(level);
    let inner = indent(level + 1);
    let leading: String = args.iter().map(|a| format!("{a}, ")).collect();
    let closure = format!("|{param}| {body}");
    let inline_args = format!("{leading}{closure}");
    let line = format!("{pad}{callee}({inline_args});");
    let args_fit = args.is_empty() || inline_args.len() <= FN_CALL_WIDTH;
    if line.len() <= MAX_WIDTH && args_fit {
        return line;
    }
    // A method call that fits on one line under its receiver goes there (rustfmt prefers
    // that to breaking the call).
    if let Some((receiver, method)) = callee.split_once('.') {
        let moved = format!("{inner}.{method}({inline_args});");
        if moved.len() <= MAX_WIDTH && args_fit {
            return format!("{pad}{receiver}\n{moved}");
        }
    }
    let head = format!("{leading}|{param}| {{");
    let first = format!("{pad}{callee}({head}");
    // rustfmt overflows the closure only if its head leaves room within the call width.
    if head.len() < FN_CALL_WIDTH && first.len() <= MAX_WIDTH {
        return format!("{first}\n{inner}{body}\n{pad}}});");
    }
    let all: Vec<String> = args.iter().cloned().chain([closure]).collect();
    vertical(level, &format!("{callee}("), &all, ");")
}

/// A call `{head}(args){tail}` at `level`: on one line if it fits (several arguments also
/// within the call width), else one argument per line.
pub(super) fn call(level: usize, head: &str, args: &[String], tail: &str) -> String {
    let pad = indent(level);
    let inline = args.join(", ");
    let line = format!("{pad}{head}({inline}){tail}");
    if line.len() <= MAX_WIDTH && (args.len() == 1 || inline.len() <= FN_CALL_WIDTH) {
        return line;
    }
    vertical(level, &format!("{head}("), args, &format!("){tail}"))
}

/// The struct field `{name}: {ty}<args>,` at `level`: on one line if it fits, else with
/// one generic argument per line.
pub(super) fn generic_field(level: usize, name: &str, ty: &str, args: &[String]) -> String {
    let pad = indent(level);
    let line = format!("{pad}{name}: {ty}<{}>,", args.join(", "));
    if line.len() <= MAX_WIDTH {
        return line;
    }
    vertical(level, &format!("{name}: {ty}<"), args, ">,")
}

/// `let {binding} = {receiver}{method}({arg});` at `level`: on one line if it fits, else
/// with the call on the next line, else with the method call moved under the receiver,
/// else with the argument on a line of its own.
pub(super) fn let_method_call(level: usize, binding: &str, receiver: &str, method: &str, arg: &str) -> String {
    let pad = indent(level);
    let inner = indent(level + 1);
    let line = format!("{pad}let {binding} = {receiver}{method}({arg});");
    if line.len() <= MAX_WIDTH {
        return line;
    }
    let next = format!("{inner}{receiver}{method}({arg});");
    if next.len() <= MAX_WIDTH {
        return format!("{pad}let {binding} =\n{next}");
    }
    let moved = format!("{inner}{method}({arg});");
    if moved.len() <= MAX_WIDTH {
        return format!("{pad}let {binding} = {receiver}\n{moved}");
    }
    call(
        level,
        &format!("let {binding} = {receiver}{method}"),
        &[arg.to_owned()],
        ";",
    )
}

/// A match arm `{pattern} => {value},` at `level`, the value in a block if the arm does not
/// fit on one line.
pub(super) fn match_arm(level: usize, pattern: &str, value: &str) -> String {
    let pad = indent(level);
    let line = format!("{pad}{pattern} => {value},");
    if line.len() <= MAX_WIDTH {
        return line;
    }
    format!("{pad}{pattern} => {{\n{}{value}\n{pad}}}", indent(level + 1))
}

/// The statement `{lhs} &[items];` at `level`, for an array of short literals: on one
/// line, or with the array on the next line, or broken with items packed to the width
/// (all items short) or one per line.
pub(super) fn array_statement(level: usize, lhs: &str, items: &[String]) -> String {
    let pad = indent(level);
    let inner = indent(level + 1);
    let inline = items.join(", ");
    if inline.len() <= ARRAY_WIDTH {
        let line = format!("{pad}{lhs} &[{inline}];");
        if line.len() <= MAX_WIDTH {
            return line;
        }
        let next = format!("{inner}&[{inline}];");
        if next.len() <= MAX_WIDTH {
            return format!("{pad}{lhs}\n{next}");
        }
    }
    let body = if items.iter().all(|i| i.len() <= SHORT_ARRAY_ELEMENT_WIDTH) {
        packed(&inner, items)
    } else {
        items.iter().map(|i| format!("{inner}{i},\n")).collect()
    };
    format!("{pad}{lhs} &[\n{body}{pad}];")
}

/// `pub use {module}::{names};` at the top level, names in rustfmt's order: one name
/// bare, several in braces on one line if it fits, else packed to the width in a block.
pub(super) fn pub_use(module: &str, names: &[String]) -> String {
    let mut names: Vec<&String> = names.iter().collect();
    names.sort_by(|a, b| import_order(a, b));
    match &names[..] {
        [] => String::new(),
        [one] => format!("pub use {module}::{one};"),
        _ => {
            let inline = names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
            let line = format!("pub use {module}::{{{inline}}};");
            if line.len() <= MAX_WIDTH {
                return line;
            }
            let names: Vec<String> = names.into_iter().cloned().collect();
            format!("pub use {module}::{{\n{}}};", packed(INDENT, &names))
        }
    }
}

/// `items`, each followed by a comma, as many to a line as fit after `pad` (rustfmt
/// leaves the last column of a packed line empty, but the trailing comma after the last
/// item, which it adds after packing, may take it).
fn packed(pad: &str, items: &[String]) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for (i, item) in items.iter().enumerate() {
        let comma = usize::from(i + 1 < items.len());
        if !line.is_empty() && pad.len() + line.len() + 1 + item.len() + comma > MAX_WIDTH - 1 {
            out.push_str(&format!("{pad}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(item);
        line.push(',');
    }
    if !line.is_empty() {
        out.push_str(&format!("{pad}{line}\n"));
    }
    out
}

/// The order rustfmt sorts the names in one `use` list by: snake_case, then CamelCase,
/// then UPPER_CASE names, each group by bytes.
fn import_order(a: &str, b: &str) -> Ordering {
    fn group(name: &str) -> u8 {
        let upper_snake = name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        match name.chars().next() {
            Some(c) if c.is_ascii_uppercase() && upper_snake => 2,
            Some(c) if c.is_ascii_uppercase() => 1,
            _ => 0,
        }
    }
    group(a).cmp(&group(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn struct_fields_break_past_the_width() {
        assert_eq!(
            braced(1, "X", &strings(&["a: u8", "b: u8"]), ",", STRUCT_VARIANT_WIDTH),
            "    X { a: u8, b: u8 },"
        );
        assert_eq!(
            braced(
                0,
                "let r = X",
                &strings(&["a_long_name", "another_one"]),
                ";",
                STRUCT_LIT_WIDTH
            ),
            "let r = X {\n    a_long_name,\n    another_one,\n};"
        );
        assert_eq!(
            braced(2, "Self::Unit", &[], " => {}", STRUCT_LIT_WIDTH),
            "        Self::Unit => {}"
        );
    }

    #[test]
    fn signatures_break_one_parameter_per_line() {
        let short = signature(1, "fn f", &strings(&["&self", "a: u8"]), " -> u8", ";");
        assert_eq!(short, "    fn f(&self, a: u8) -> u8;");
        let long_param = format!("{}: u8", "a".repeat(100));
        let long = signature(1, "fn f", &strings(&["&self", &long_param]), " -> u8", " {");
        assert_eq!(
            long,
            format!("    fn f(\n        &self,\n        {long_param},\n    ) -> u8 {{")
        );
    }

    #[test]
    fn use_lists_are_sorted_and_packed() {
        assert_eq!(
            pub_use("m", &strings(&["Zed", "A", "Alpha", "beta"])),
            "pub use m::{beta, Alpha, Zed, A};"
        );
        let names: Vec<String> = (0..20).map(|i| format!("LongishName{i:02}")).collect();
        let text = pub_use("m", &names);
        assert!(text.starts_with("pub use m::{\n    LongishName00, "), "{text}");
        assert!(text.lines().all(|l| l.len() <= MAX_WIDTH), "{text}");
        assert!(text.ends_with("LongishName19,\n};"), "{text}");
    }

    #[test]
    fn arrays_move_then_break() {
        let lhs = "const N: &[&str] =";
        assert_eq!(
            array_statement(1, lhs, &strings(&["\"a\""])),
            "    const N: &[&str] = &[\"a\"];"
        );
        let long: Vec<String> = (0..12).map(|i| format!("\"table_name_{i}\"")).collect();
        let text = array_statement(1, lhs, &long);
        assert!(
            text.starts_with("    const N: &[&str] = &[\n        \"table_name_0\",\n"),
            "{text}"
        );
        let short: Vec<String> = (0..40).map(|i| format!("\"t{i}\"")).collect();
        let text = array_statement(1, lhs, &short);
        assert!(
            text.starts_with("    const N: &[&str] = &[\n        \"t0\", \"t1\", "),
            "{text}"
        );
    }
}
