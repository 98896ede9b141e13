//! File-system steps that durability depends on, in one place: fsync of a directory
//! (so a created, renamed or removed file survives a crash) and the atomic
//! create-by-rename used for new segments and snapshots.

use crate::error::{CommitlogError, SnapshotError};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A failed file-system step, converted into the error type of the caller's layer.
#[derive(Debug)]
pub(crate) struct FsError {
    pub op: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

impl From<FsError> for CommitlogError {
    fn from(e: FsError) -> Self {
        CommitlogError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

impl From<FsError> for SnapshotError {
    fn from(e: FsError) -> Self {
        SnapshotError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

fn fs_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> FsError + 'a {
    move |source| FsError {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Suffix of files being written before their atomic rename.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// Makes the directory's entries (creations, renames, removals) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), FsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fs_err("fsync directory", dir))
}

/// Creates `dir` and its parents if needed.
pub(crate) fn create_dir(dir: &Path) -> Result<(), FsError> {
    fs::create_dir_all(dir).map_err(fs_err("create directory", dir))
}

/// Writes `parts` to `dir/name` so that after a crash the file either does not exist
/// or is complete: write to `name.tmp`, fsync, rename, fsync the directory. Returns
/// the final file, opened for writing at its end.
pub(crate) fn write_atomically(dir: &Path, name: &str, parts: &[&[u8]]) -> Result<File, FsError> {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let path = dir.join(name);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&tmp)
        .map_err(fs_err("create", &tmp))?;
    for part in parts {
        file.write_all(part).map_err(fs_err("write", &tmp))?;
    }
    file.sync_all().map_err(fs_err("fsync", &tmp))?;
    fs::rename(&tmp, &path).map_err(fs_err("rename into place", &tmp))?;
    sync_dir(dir)?;
    Ok(file)
}

/// Removes leftovers of interrupted [`write_atomically`] calls; returns their paths.
pub(crate) fn remove_tmp_files(dir: &Path) -> Result<Vec<PathBuf>, FsError> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir).map_err(fs_err("list", dir))? {
        let path = entry.map_err(fs_err("list", dir))?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(TMP_SUFFIX))
        {
            fs::remove_file(&path).map_err(fs_err("remove", &path))?;
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// Renames `path` to `path` + `suffix` (without fsyncing the directory).
pub(crate) fn set_aside(path: &Path, suffix: &str) -> Result<PathBuf, FsError> {
    let mut target = path.as_os_str().to_owned();
    target.push(suffix);
    let target = PathBuf::from(target);
    fs::rename(path, &target).map_err(fs_err("rename", path))?;
    Ok(target)
}

/// File names in `dir` (entries whose names are not UTF-8 are skipped: none of ours are).
pub(crate) fn list_names(dir: &Path) -> Result<Vec<String>, FsError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(fs_err("list", dir))? {
        let entry = entry.map_err(fs_err("list", dir))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}
