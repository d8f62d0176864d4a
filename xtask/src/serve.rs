//! A static file server on loopback, for testing `install.sh` against a
//! release directory the way it meets GitHub's: `GET /<file>` answers the
//! file or 404. Only std, so the test needs no python or other server on the
//! machine. Not for anything but tests: one request per connection, files
//! read whole.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Binds 127.0.0.1 on a free port and serves `root` from a background
/// thread; returns the base URL.
pub fn start(root: PathBuf) -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Err(e) = answer(stream, &root) {
                eprintln!("xtask serve: {e}");
            }
        }
    });
    Ok(url)
}

fn answer(stream: TcpStream, root: &Path) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers are read and ignored.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match file_for(root, target) {
        _ if method != "GET" && method != "HEAD" => ("405 Method Not Allowed", Vec::new()),
        Some(path) => match fs::read(&path) {
            Ok(data) => ("200 OK", data),
            Err(_) => ("404 Not Found", b"not found\n".to_vec()),
        },
        None => ("404 Not Found", b"not found\n".to_vec()),
    };
    eprintln!("xtask serve: {method} {target} {status}");
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method == "GET" {
        out.write_all(&body)?;
    }
    out.flush()
}

/// The file a request target names under `root`: one plain path segment
/// after another, never `..`.
fn file_for(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split('?').next()?.strip_prefix('/')?;
    let mut file = root.to_path_buf();
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\\') {
            return None;
        }
        file.push(segment);
    }
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_under_the_root_are_served() {
        let root = Path::new("/srv/dist");
        assert_eq!(
            file_for(root, "/v1/SHA256SUMS"),
            Some(root.join("v1/SHA256SUMS"))
        );
        assert_eq!(file_for(root, "/../etc/passwd"), None);
        assert_eq!(file_for(root, "/a//b"), None);
        assert_eq!(file_for(root, "relative"), None);
    }
}
