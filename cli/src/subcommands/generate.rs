//! `spacetime generate --lang rust --out-dir DIR (--bin-path X.wasm | --module-path DIR |
//! --module-def schema.json)`: reads a module's definition locally (by running the module's
//! describe export in the embedded host, or from a JSON file), generates client bindings
//! with `spacetime-codegen`, writes them, and deletes generated files of an earlier run that
//! this run did not produce. Without `--lang` and `--out-dir`, inside a project, it writes
//! every target in spacetime.json's `generate`.

use super::publish::build_module;
use anyhow::{anyhow, bail, Context, Result};
use spacetime_codegen::{generate, CSharp, Lang, Options, OutputFile, Python, Rust, TypeScript};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::{RawModuleDef, RawModuleDefV10};
use spacetime_sats::json::from_json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The language of the bindings (`rust`/`rs`, `csharp`/`cs`/`c#`, `typescript`/`ts`,
    /// `python`/`py`).
    #[arg(short = 'l', long, value_enum, requires = "out_dir")]
    pub lang: Option<Language>,
    /// Where to write the bindings (created if missing).
    #[arg(short = 'o', long, value_name = "DIR", requires = "lang")]
    pub out_dir: Option<PathBuf>,
    /// A built module.
    #[arg(short = 'b', long, value_name = "WASM", conflicts_with_all = ["module_path", "module_def"])]
    pub bin_path: Option<PathBuf>,
    /// The module crate to build (default: the current directory). `--project-path` is
    /// upstream's name for it.
    #[arg(
        short = 'p',
        long,
        alias = "project-path",
        value_name = "DIR",
        conflicts_with = "module_def"
    )]
    pub module_path: Option<PathBuf>,
    /// A module definition in SATS-JSON: a `RawModuleDef` (`{"V10": …}`) or the V10 form
    /// `GET /schema?version=10` returns.
    #[arg(long, value_name = "FILE")]
    pub module_def: Option<PathBuf>,
    /// Also generate private tables and reducers.
    #[arg(long)]
    pub include_private: bool,
    /// The namespace of C# bindings (default `SpacetimeDB.Types`; only with `--lang csharp`).
    #[arg(long)]
    pub namespace: Option<String>,
}

/// The languages `generate` supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    /// Rust, for the `spacetimedb_sdk` crate.
    #[value(alias = "rs", alias = "RS")]
    Rust,
    /// C#, for the `SpacetimeDB` SDK in `sdks/csharp` (Mono, .NET, Unity).
    #[value(alias = "cs", alias = "c#")]
    Csharp,
    /// Python, for the `spacetime_sdk` package (the output directory is a package).
    #[value(alias = "py")]
    Python,
    /// TypeScript, for the `spacetime-sdk` npm package.
    #[value(alias = "ts", alias = "TS")]
    Typescript,
}

/// Runs `generate`.
///
/// # Errors
/// When the module cannot be read, built or described, its definition is invalid, codegen
/// fails, or the output directory cannot be written.
pub fn exec(ctx: &crate::Ctx, args: GenerateArgs) -> Result<()> {
    if args.lang.is_some() {
        return generate_one(&args);
    }
    let project = ctx.project()?.ok_or_else(|| {
        anyhow!("pass --lang <language> and --out-dir <dir>, or run this inside a project whose spacetime.json has `generate` targets")
    })?;
    if project.generate.is_empty() {
        bail!(
            "{} has no `generate` targets: pass --lang <language> and --out-dir <dir>, or add \
             \"generate\": [{{\"language\": \"typescript\", \"out-dir\": \"<dir>\"}}]",
            project.path.display()
        );
    }
    for target in &project.generate {
        let lang = <Language as clap::ValueEnum>::from_str(&target.language, true).map_err(|_| {
            anyhow!(
                "{}: `language` \"{}\" is not one of rust, csharp, typescript, python (or rs, cs, ts, py)",
                project.path.display(),
                target.language
            )
        })?;
        let mut one = GenerateArgs {
            lang: Some(lang),
            out_dir: Some(target.out_dir.clone()),
            bin_path: args.bin_path.clone(),
            module_path: args.module_path.clone(),
            module_def: args.module_def.clone(),
            include_private: args.include_private || target.include_private,
            namespace: target.namespace.clone().or_else(|| args.namespace.clone()),
        };
        if one.bin_path.is_none() && one.module_def.is_none() && one.module_path.is_none() {
            one.module_path = target.module_path.clone().or_else(|| project.module_path.clone());
        }
        eprintln!(
            "Generating {} bindings into {}",
            target.language,
            target.out_dir.display()
        );
        // A second target's build of the same crate is cargo's no-op.
        generate_one(&one)?;
    }
    Ok(())
}

/// Generates one language's bindings into one directory.
fn generate_one(args: &GenerateArgs) -> Result<()> {
    let (Some(lang), Some(out_dir)) = (args.lang, &args.out_dir) else {
        bail!("pass both --lang <language> and --out-dir <dir>");
    };
    if args.namespace.is_some() && lang != Language::Csharp {
        bail!("--namespace is only supported with --lang csharp");
    }
    let raw = match (&args.bin_path, &args.module_def) {
        (Some(wasm), _) => describe_wasm(wasm)?,
        (None, Some(json)) => read_module_def(json)?,
        (None, None) => {
            let dir = args.module_path.clone().unwrap_or_else(|| PathBuf::from("."));
            if !dir.join("Cargo.toml").is_file() {
                bail!(
                    "{} has no Cargo.toml: pass the module crate's directory with --module-path, a built module with \
                     --bin-path, or a definition with --module-def",
                    dir.display()
                );
            }
            describe_wasm(&build_module(&dir)?)?
        }
    };
    let def = ModuleDef::from_raw(raw).map_err(|e| anyhow!("the module definition is invalid: {e}"))?;
    let csharp;
    let lang: &dyn Lang = match lang {
        Language::Rust => &Rust,
        Language::Csharp => {
            csharp = CSharp::new(args.namespace.as_deref().unwrap_or(CSharp::DEFAULT_NAMESPACE));
            &csharp
        }
        Language::Python => &Python,
        Language::Typescript => &TypeScript,
    };
    let files = generate(
        &def,
        lang,
        &Options {
            include_private: args.include_private,
        },
    )?;
    write_files(out_dir, &files, &lang.generated_prefix())?;
    println!("Generate finished successfully.");
    Ok(())
}

/// The definition a `.wasm` module describes.
fn describe_wasm(path: &Path) -> Result<RawModuleDef> {
    let wasm = std::fs::read(path).with_context(|| format!("cannot read the module {}", path.display()))?;
    if !wasm.starts_with(b"\0asm") {
        bail!(
            "{} is not a WebAssembly file (it does not start with `\\0asm`)",
            path.display()
        );
    }
    spacetime_host::extract_raw_module_def(&wasm)
        .with_context(|| format!("cannot describe the module {}", path.display()))
}

/// A definition from SATS-JSON, wrapped (`{"V10": …}`) or bare V10 (`{"sections": …}`).
fn read_module_def(path: &Path) -> Result<RawModuleDef> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let parsed = if json.get("sections").is_some() {
        from_json::<RawModuleDefV10>(&json).map(RawModuleDef::V10)
    } else {
        from_json::<RawModuleDef>(&json)
    };
    parsed.map_err(|e| anyhow!("{} is not a module definition in SATS-JSON: {e}", path.display()))
}

/// Writes `files` under `out_dir`, then deletes the files there that start with the
/// language's generated header `prefix` but were not written now (left over from tables or
/// reducers since removed).
fn write_files(out_dir: &Path, files: &[OutputFile], prefix: &str) -> Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut written = BTreeSet::new();
    for file in files {
        let path = out_dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, &file.contents).with_context(|| format!("cannot write {}", path.display()))?;
        written.insert(path);
    }
    for stale in stale_files(out_dir, &written, prefix)? {
        std::fs::remove_file(&stale).with_context(|| format!("cannot delete the stale file {}", stale.display()))?;
        eprintln!("Deleted the stale generated file {}", stale.display());
    }
    Ok(())
}

/// Files under `dir` (recursively) that start with the generated header `prefix` and are not
/// in `keep`.
fn stale_files(dir: &Path, keep: &BTreeSet<PathBuf>, prefix: &str) -> Result<Vec<PathBuf>> {
    let mut stale = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry.with_context(|| format!("cannot list {}", dir.display()))?.path();
        if path.is_dir() {
            stale.extend(stale_files(&path, keep, prefix)?);
        } else if !keep.contains(&path) && starts_with(&path, prefix) {
            stale.push(path);
        }
    }
    Ok(stale)
}

/// Whether the file at `path` begins with `prefix` (unreadable or shorter files are the
/// user's and never match).
fn starts_with(path: &Path, prefix: &str) -> bool {
    use std::io::Read;
    let mut head = vec![0u8; prefix.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == prefix.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_generated_files_are_found_but_user_files_are_not() {
        let langs: [(&dyn Lang, &str); 4] = [
            (&Rust, "rs"),
            (&TypeScript, "ts"),
            (&Python, "py"),
            (&CSharp::default(), "cs"),
        ];
        for (lang, ext) in langs {
            let prefix = lang.generated_prefix();
            let dir = tempfile::tempdir().unwrap();
            let fresh = dir.path().join(format!("user_table.{ext}"));
            let old = dir.path().join(format!("old_table.{ext}"));
            let mine = dir.path().join(format!("helpers.{ext}"));
            std::fs::write(&fresh, format!("{prefix}\n")).unwrap();
            std::fs::write(&old, format!("{prefix}\nold = 1\n")).unwrap();
            std::fs::write(&mine, format!("{} my own code\n", lang.line_comment())).unwrap();
            let keep = BTreeSet::from([fresh]);
            assert_eq!(stale_files(dir.path(), &keep, &prefix).unwrap(), vec![old], "{ext}");
        }
    }
}
