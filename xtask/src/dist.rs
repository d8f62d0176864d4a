//! Release archives that are the same bytes whoever builds them from the same
//! binaries: entries in sorted order, one fixed mtime (SOURCE_DATE_EPOCH or
//! the commit's time), owner and group 0 with no names, modes 755 or 644,
//! compressed by `gzip -n` (no name, no timestamp in the gzip header).
//!
//! The tar is written here (POSIX ustar) rather than by `tar`, because the
//! flags that make GNU tar reproducible (`--sort`, `--mtime`, `--owner`)
//! do not exist in the bsdtar of the macOS runners.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

/// `canary-release-tools-<version>-<target>`: the archive's name, less
/// `.tar.gz`, and the directory it unpacks into.
pub fn archive_name(version: &str, target: &str) -> String {
    format!("canary-release-tools-{version}-{target}")
}

/// The target triple of the toolchain that builds here (`rustc -vV`'s host).
pub fn host_target() -> io::Result<String> {
    let out = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("-vV")
        .output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|s| s.trim().to_string())
        .ok_or_else(|| io::Error::other("`rustc -vV` named no host target"))
}

/// The mtime of every entry: SOURCE_DATE_EPOCH when set, else the time of the
/// commit checked out here, else 0.
pub fn source_date_epoch(repo: &Path) -> io::Result<u64> {
    if let Ok(value) = std::env::var("SOURCE_DATE_EPOCH") {
        return value.trim().parse().map_err(|_| {
            io::Error::other(format!(
                "SOURCE_DATE_EPOCH={value:?} is not a number of seconds"
            ))
        });
    }
    let commit_time = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(repo)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok());
    Ok(commit_time.unwrap_or(0))
}

/// Packs the directory `stage` into `out_dir/<name of stage>.tar.gz`, every
/// entry under `<name of stage>/`, then rewrites `out_dir/SHA256SUMS` over
/// every archive in `out_dir`. Returns the archive's path.
pub fn archive(stage: &Path, out_dir: &Path, mtime: u64) -> io::Result<PathBuf> {
    let top = stage
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other(format!("{} has no usable name", stage.display())))?;
    let mut entries = Vec::new();
    collect(stage, Path::new(top), &mut entries)?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut tar = Vec::new();
    append(&mut tar, &format!("{top}/"), 0o755, None, mtime)?;
    for (name, source) in &entries {
        match source {
            Some(path) => {
                let data = fs::read(path)?;
                append(&mut tar, name, file_mode(path)?, Some(&data), mtime)?;
            }
            None => append(&mut tar, name, 0o755, None, mtime)?,
        }
    }
    tar.extend_from_slice(&[0; 1024]);

    fs::create_dir_all(out_dir)?;
    let path = out_dir.join(format!("{top}.tar.gz"));
    let partial = out_dir.join(format!(".{top}.tar.gz.partial"));
    fs::write(&partial, gzip(&tar)?)?;
    fs::rename(&partial, &path)?;
    write_sums(out_dir)?;
    Ok(path)
}

/// `SHA256SUMS` in `dir`, as `sha256sum` writes it, over every `*.tar.gz`.
pub fn write_sums(dir: &Path) -> io::Result<()> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".tar.gz") && !n.starts_with('.'))
        .collect();
    names.sort();
    let mut sums = String::new();
    for name in names {
        let digest = Sha256::digest(fs::read(dir.join(&name))?);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        sums.push_str(&format!("{hex}  {name}\n"));
    }
    fs::write(dir.join("SHA256SUMS"), sums)
}

/// Every file and directory under `dir`, named as in the archive
/// (directories with a trailing slash and no source).
fn collect(dir: &Path, name: &Path, out: &mut Vec<(String, Option<PathBuf>)>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let entry_name = name.join(entry.file_name());
        let text = entry_name
            .to_str()
            .ok_or_else(|| io::Error::other(format!("{} is not UTF-8", path.display())))?
            .to_string();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            out.push((format!("{text}/"), None));
            collect(&path, &entry_name, out)?;
        } else if kind.is_file() {
            out.push((text, Some(path)));
        } else {
            return Err(io::Error::other(format!(
                "{} is neither a file nor a directory",
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn file_mode(path: &Path) -> io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    let executable = fs::metadata(path)?.permissions().mode() & 0o111 != 0;
    Ok(if executable { 0o755 } else { 0o644 })
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> io::Result<u32> {
    Ok(0o644)
}

/// One ustar entry: a 512-byte header, then the data padded to 512 bytes.
fn append(
    tar: &mut Vec<u8>,
    name: &str,
    mode: u32,
    data: Option<&[u8]>,
    mtime: u64,
) -> io::Result<()> {
    let mut header = [0u8; 512];
    let (prefix, short) = split_name(name)?;
    header[..short.len()].copy_from_slice(short.as_bytes());
    octal(&mut header[100..108], mode as u64);
    octal(&mut header[108..116], 0); // uid
    octal(&mut header[116..124], 0); // gid
    octal(&mut header[124..136], data.map_or(0, |d| d.len() as u64));
    octal(&mut header[136..148], mtime);
    header[156] = if data.is_some() { b'0' } else { b'5' };
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    // The checksum is taken with its own field as spaces.
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| b as u32).sum();
    header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    tar.extend_from_slice(&header);
    if let Some(data) = data {
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    Ok(())
}

/// ustar keeps names up to 100 bytes, plus a 155-byte prefix cut at a `/`.
fn split_name(name: &str) -> io::Result<(&str, &str)> {
    if name.len() <= 100 {
        return Ok(("", name));
    }
    let body = name.trim_end_matches('/');
    for (at, _) in body.match_indices('/') {
        let (prefix, rest) = (&name[..at], &name[at + 1..]);
        if prefix.len() <= 155 && rest.len() <= 100 {
            return Ok((prefix, rest));
        }
    }
    Err(io::Error::other(format!(
        "{name} is too long for a ustar archive"
    )))
}

/// A zero-padded octal number filling the field but its last byte (NUL).
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    field[..width].copy_from_slice(&text.as_bytes()[text.len() - width..]);
    field[width] = 0;
}

/// `gzip -n` at DIST_COMPRESSION (1 to 9, default 9: tests that pack debug
/// builds trade size for time with 1).
fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let level = match std::env::var("DIST_COMPRESSION") {
        Ok(level)
            if matches!(
                level.as_str(),
                "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9"
            ) =>
        {
            level
        }
        Ok(level) => {
            return Err(io::Error::other(format!(
                "DIST_COMPRESSION={level:?}: use a gzip level from 1 to 9"
            )))
        }
        Err(_) => "9".to_string(),
    };
    let mut child = Command::new("gzip")
        .args(["-n", &format!("-{level}"), "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::other(format!("cannot run gzip: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let out = std::thread::scope(|s| {
        let writer = s.spawn(move || stdin.write_all(data));
        let out = child.wait_with_output();
        writer.join().expect("gzip writer thread")?;
        out
    })?;
    if !out.status.success() {
        return Err(io::Error::other(format!("gzip failed: {}", out.status)));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_split_at_a_slash() {
        let name = format!(
            "{}/share/fish/vendor_completions.d/{}",
            "d".repeat(60),
            "f".repeat(40)
        );
        let (prefix, short) = split_name(&name).unwrap();
        assert_eq!(format!("{prefix}/{short}"), name);
        assert!(short.len() <= 100 && prefix.len() <= 155);
        assert!(split_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn headers_carry_mode_owner_mtime_and_a_valid_checksum() {
        let mut tar = Vec::new();
        append(
            &mut tar,
            "top/bin/tool",
            0o755,
            Some(b"#!/bin/sh\n"),
            1_700_000_000,
        )
        .unwrap();
        assert_eq!(tar.len(), 1024);
        assert_eq!(&tar[..12], b"top/bin/tool");
        assert_eq!(&tar[100..108], b"0000755\0");
        assert_eq!(&tar[108..116], b"0000000\0", "uid");
        assert_eq!(&tar[116..124], b"0000000\0", "gid");
        assert_eq!(&tar[124..136], b"00000000012\0");
        assert_eq!(
            &tar[136..148],
            format!("{:011o}\0", 1_700_000_000).as_bytes()
        );
        let stored = u32::from_str_radix(std::str::from_utf8(&tar[148..154]).unwrap(), 8).unwrap();
        let mut blanked = tar[..512].to_vec();
        blanked[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, blanked.iter().map(|&b| b as u32).sum::<u32>());
        assert_eq!(&tar[512..522], b"#!/bin/sh\n");
    }
}
