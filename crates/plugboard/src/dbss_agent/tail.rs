//! Following a log as the database writes it: one file (`path` is a file; rotation by rename
//! is followed by inode — the rotated file is read to its end first — and `copytruncate` by the
//! size shrinking), or a directory of `*.json` files read in name order (PostgreSQL's
//! `logging_collector` rotation). Complete lines only; bytes that are not UTF-8 are replaced.
//! Positions survive restarts in a checkpoint (`<state_dir>/<db_id>.ckpt`, written atomically)
//! holding the file, its inode, the sequence base of the file and the offset to resume at.

use plugboard_api::dbss::capture::Marks;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The resume point of a source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    pub file: PathBuf,
    pub inode: u64,
    /// Sequence number of the file's byte 0 (an event's `seq` is base + its first line's offset).
    pub base: i64,
    pub offset: u64,
    #[serde(default)]
    pub marks: Marks,
}

impl Checkpoint {
    pub fn path(state_dir: &Path, db_id: &str) -> PathBuf {
        state_dir.join(format!("{db_id}.ckpt"))
    }

    pub fn load(path: &Path) -> Result<Option<Self>, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("checkpoint {} is unreadable: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read checkpoint {}: {e}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("ckpt.tmp");
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        {
            let mut f = File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }
}

/// A fresh source's sequence base: far above anything an earlier state directory numbered.
pub fn fresh_base() -> i64 {
    chrono::Utc::now().timestamp_micros().saturating_mul(64)
}

struct Current {
    path: PathBuf,
    file: File,
    inode: u64,
    /// Opened by inode after a rotation: switch to `path` of the source at its end.
    rotated: bool,
}

/// One followed log.
pub struct Follower {
    path: PathBuf,
    dir_mode: bool,
    cur: Option<Current>,
    pub base: i64,
    /// Offset of the next unread line.
    pub pos: u64,
    buf: Vec<u8>,
    /// Whether the last [`Self::read_lines`] read to the end of the file (rather than
    /// stopping at its byte budget): the log is caught up as of that read.
    pub reached_end: bool,
}

/// Bytes asked of the file per read.
const READ_CHUNK: usize = 64 * 1024;

fn inode_of(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.ino())
}

/// How a file named `<log><suffix>` sorts among files last written in the same clock tick:
/// `.N` copies from the highest N down, then other suffixes by name, the log itself last.
fn rotation_rank(suffix: &str) -> (u8, std::cmp::Reverse<u64>) {
    if suffix.is_empty() {
        return (2, std::cmp::Reverse(0));
    }
    match suffix.strip_prefix('.').and_then(|n| n.parse::<u64>().ok()) {
        Some(n) => (0, std::cmp::Reverse(n)),
        None => (1, std::cmp::Reverse(0)),
    }
}

impl Follower {
    /// Follow `path` from `ckpt` (or from the start of the oldest file).
    pub fn new(path: &Path, ckpt: Option<&Checkpoint>) -> Self {
        let mut f = Self {
            path: path.to_path_buf(),
            dir_mode: path.is_dir(),
            cur: None,
            base: ckpt.map(|c| c.base).unwrap_or_else(fresh_base),
            pos: ckpt.map(|c| c.offset).unwrap_or(0),
            buf: Vec::new(),
            reached_end: false,
        };
        if let Some(c) = ckpt {
            f.resume(c);
        }
        f
    }

    /// The dir-mode files, in reading order.
    fn candidates(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.path)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Open `path` at `offset`; with `expect`, only if the file opened is that inode (a
    /// rotation may rename another file to the name between a listing and the open).
    fn open(&mut self, path: &Path, offset: u64, rotated: bool, expect: Option<u64>) -> bool {
        let Ok(mut file) = File::open(path) else {
            return false;
        };
        let Ok(meta) = file.metadata() else {
            return false;
        };
        if expect.is_some_and(|ino| ino != meta.ino()) {
            return false;
        }
        let offset = if meta.len() < offset {
            // Truncated since (copytruncate while we were away): a new numbering range.
            self.base = self.base.saturating_add(offset as i64 + 1);
            0
        } else {
            offset
        };
        if file.seek(SeekFrom::Start(offset)).is_err() {
            return false;
        }
        self.cur = Some(Current {
            path: path.to_path_buf(),
            file,
            inode: meta.ino(),
            rotated,
        });
        self.pos = offset;
        self.buf.clear();
        true
    }

    fn resume(&mut self, c: &Checkpoint) {
        let offset = c.offset;
        if self.dir_mode {
            if self.open(&c.file.clone(), offset, false, Some(c.inode)) {
                return;
            }
            if let Some(p) = self
                .candidates()
                .into_iter()
                .find(|p| inode_of(p) == Some(c.inode))
            {
                if self.open(&p, offset, false, Some(c.inode)) {
                    return;
                }
            }
            // The file is gone: go on with the next one after it.
            self.base = c.base.saturating_add(c.offset as i64 + 1);
            self.pos = 0;
            if let Some(next) = self.candidates().into_iter().find(|p| *p > c.file) {
                self.open(&next, 0, false, None);
            }
            return;
        }
        // Still the log, or rotated while we were away: then the rotated file is finished first.
        if self.open_inode(c.inode, offset) {
            return;
        }
        tracing::warn!(file = %c.file.display(), "the checkpointed log file is gone; going on with the current one");
        self.base = c.base.saturating_add(c.offset as i64 + 1);
        let p = self.path.clone();
        self.open(&p, 0, false, None);
    }

    /// One-file mode: open the file of inode `ino` at `offset` — the log itself, or one of
    /// its rotated copies (then marked rotated). Looked for again when a rotation renames
    /// files between the listing and the open.
    fn open_inode(&mut self, ino: u64, offset: u64) -> bool {
        let log = self.path.clone();
        for _ in 0..8 {
            if self.open(&log, offset, false, Some(ino)) {
                return true;
            }
            let Some((path, _)) = self.siblings().into_iter().find(|(_, i)| *i == ino) else {
                return false;
            };
            if path != log && self.open(&path, offset, true, Some(ino)) {
                return true;
            }
        }
        false
    }

    /// One-file mode: the log and its rotated copies (`<name>*` beside it) with their inodes,
    /// oldest first. The directory is read until two readings agree: a rotation renaming
    /// files while it is read can show a file twice or not at all.
    fn siblings(&self) -> Vec<(PathBuf, u64)> {
        let mut last = self.list_siblings();
        for _ in 0..8 {
            let again = self.list_siblings();
            if again == last {
                break;
            }
            last = again;
        }
        last
    }

    /// One reading of [`Self::siblings`]: by last write, and files written in the same clock
    /// tick by their names — a higher `.N` is older (server_audit, logrotate), the log itself
    /// is the newest, other suffixes (dates) in name order.
    fn list_siblings(&self) -> Vec<(PathBuf, u64)> {
        let dir = self
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let stem = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let suffix = name.strip_prefix(stem.as_str())?.to_string();
                        let m = std::fs::metadata(e.path()).ok()?;
                        let rank = rotation_rank(&suffix);
                        Some((m.modified().ok()?, rank, suffix, e.path(), m.ino()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .map(|(_, _, _, path, ino)| (path, ino))
            .collect()
    }

    /// Read complete lines now (at most about `max` bytes): `each(offset, seq, text)` for
    /// every line, in order, where `seq` is the sequence number of the line (the file's base
    /// plus its offset). The text borrows the read buffer (copied only where bytes that are
    /// not UTF-8 are replaced). Returns how many lines were read.
    pub fn read_lines(&mut self, max: usize, mut each: impl FnMut(u64, i64, &str)) -> usize {
        self.reached_end = true;
        if self.cur.is_none() {
            let first = if self.dir_mode {
                self.candidates().into_iter().next()
            } else {
                Some(self.path.clone())
            };
            match first {
                Some(p) => {
                    let pos = self.pos;
                    if !self.open(&p, pos, false, None) {
                        return 0;
                    }
                }
                None => return 0,
            }
        }
        let Some(cur) = self.cur.as_mut() else {
            return 0;
        };
        let mut read = 0;
        self.reached_end = false;
        while read < max {
            // Appended to the buffer's spare room as read, none of it zeroed first.
            match (&mut cur.file)
                .take(READ_CHUNK as u64)
                .read_to_end(&mut self.buf)
            {
                Ok(0) => {
                    self.reached_end = true;
                    break;
                }
                Ok(n) => read += n,
                Err(e) => {
                    self.reached_end = true;
                    tracing::warn!(file = %cur.path.display(), "reading the log failed: {e}");
                    break;
                }
            }
        }
        let mut n = 0;
        let mut start = 0;
        while let Some(i) = memchr::memchr(b'\n', &self.buf[start..]) {
            let end = start + i;
            let mut line = &self.buf[start..end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let offset = self.pos + start as u64;
            each(
                offset,
                self.base.saturating_add(offset as i64),
                // std's validation has an ASCII fast path the lossy reader lacks.
                &match std::str::from_utf8(line) {
                    Ok(text) => Cow::Borrowed(text),
                    Err(_) => String::from_utf8_lossy(line),
                },
            );
            n += 1;
            start = end + 1;
        }
        self.buf.drain(..start);
        self.pos += start as u64;
        n
    }

    /// At the end of the current file, whether the log went on elsewhere (a newer file, a
    /// rotation, a truncation) and the current file is read to its end: the caller ships
    /// everything read, then calls [`Self::switch`].
    ///
    /// The database may write its last lines to the old file between the caller's last read
    /// and this check, then rotate: so the move is looked for first, and the old file's size
    /// (through the open handle) after it. A file that grew since it was read is not left
    /// until those bytes are read (a rotation by rename or a new file in the directory
    /// happens after the last write to the old one).
    pub fn moved_on(&self) -> bool {
        let Some(cur) = &self.cur else {
            return false;
        };
        let moved = if self.dir_mode {
            self.candidates().iter().any(|p| *p > cur.path)
        } else if cur.rotated {
            true
        } else {
            match std::fs::metadata(&self.path) {
                Ok(m) => m.ino() != cur.inode || m.len() < self.pos,
                Err(_) => false,
            }
        };
        if !moved {
            return false;
        }
        let consumed = self.pos + self.buf.len() as u64;
        match cur.file.metadata() {
            // Truncated in place (copytruncate): nothing more to read from it.
            Ok(m) if m.len() < self.pos => true,
            Ok(m) => m.len() <= consumed,
            Err(_) => true,
        }
    }

    /// A last line the rotated file ended without a newline (taken as a line).
    pub fn take_partial(&mut self) -> Option<(u64, String)> {
        if self.buf.is_empty() {
            return None;
        }
        let line = String::from_utf8_lossy(&self.buf).into_owned();
        let at = self.pos;
        self.pos += self.buf.len() as u64;
        self.buf.clear();
        Some((at, line))
    }

    /// Go on with the next file (a new numbering range after the finished one).
    pub fn switch(&mut self) {
        let Some(cur) = self.cur.take() else {
            return;
        };
        let truncated_in_place =
            !self.dir_mode && !cur.rotated && inode_of(&self.path) == Some(cur.inode);
        self.base = self.base.saturating_add(self.pos as i64 + 1);
        if self.dir_mode {
            let next = self.candidates().into_iter().find(|p| *p > cur.path);
            drop(cur);
            match next {
                Some(n) => {
                    self.open(&n, 0, false, None);
                }
                None => self.pos = 0,
            }
            return;
        }
        // One file: the rotated files newer than this one first (oldest first), then the log.
        let next = if truncated_in_place {
            None
        } else {
            let files = self.siblings();
            files
                .iter()
                .position(|(_, ino)| *ino == cur.inode)
                .and_then(|i| files.get(i + 1))
                .map(|(_, ino)| *ino)
        };
        drop(cur);
        if next.is_some_and(|ino| self.open_inode(ino, 0)) {
            return;
        }
        let p = self.path.clone();
        self.open(&p, 0, false, None);
    }

    /// The checkpoint for resuming at `offset` of the current file.
    pub fn checkpoint(&self, offset: u64, marks: &Marks) -> Checkpoint {
        let (file, inode) = match &self.cur {
            Some(c) => (c.path.clone(), c.inode),
            None => (self.path.clone(), 0),
        };
        Checkpoint {
            file,
            inode,
            base: self.base,
            offset,
            marks: marks.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn texts(f: &mut Follower, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        f.read_lines(max, |_, _, t| out.push(t.to_string()));
        out
    }

    /// The lines written between the follower's last read and a rotation by rename are read
    /// before it moves on (server_audit's `server_audit_file_rotate_now`, logrotate's rename).
    #[test]
    fn lines_written_just_before_a_rename_are_read_before_moving_on() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server_audit.log");
        append(&log, "a\nb\n");
        let mut f = Follower::new(&log, None);
        assert_eq!(texts(&mut f, 1 << 20), ["a", "b"]);
        assert!(texts(&mut f, 1 << 20).is_empty());
        assert!(!f.moved_on());

        // The database writes its last lines, then rotates, all after the read above.
        append(&log, "c\nd\n");
        std::fs::rename(&log, dir.path().join("server_audit.log.1")).unwrap();
        append(&log, "e\n");
        assert!(!f.moved_on(), "two lines of the old file are still unread");
        assert_eq!(texts(&mut f, 1 << 20), ["c", "d"]);
        assert!(f.moved_on());
        f.switch();
        assert_eq!(texts(&mut f, 1 << 20), ["e"]);
        assert!(!f.moved_on());
    }

    /// The same in a directory of files (PostgreSQL's `logging_collector`): the last lines of
    /// the older file are read before the newer one.
    #[test]
    fn a_directory_s_older_file_is_read_to_its_end_before_the_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("postgresql-1.json");
        append(&first, "1\n");
        let mut f = Follower::new(dir.path(), None);
        assert_eq!(texts(&mut f, 1 << 20), ["1"]);
        append(&first, "2\n");
        append(&dir.path().join("postgresql-2.json"), "3\n");
        assert!(!f.moved_on());
        assert_eq!(texts(&mut f, 1 << 20), ["2"]);
        assert!(f.moved_on());
        f.switch();
        assert_eq!(texts(&mut f, 1 << 20), ["3"]);
    }

    /// A read that stops at its byte budget has not reached the end; one that reads to the
    /// end has, though it read lines (a database that never stops writing never gives a read
    /// with none: the agent's catch-up ends at such a read, host_load.rs).
    #[test]
    fn a_read_tells_whether_it_reached_the_end_of_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.log");
        let line = format!("{}\n", "x".repeat(99));
        append(&log, &line.repeat(6_000));
        let mut f = Follower::new(&log, None);
        let first = texts(&mut f, READ_CHUNK).len();
        assert!(!f.reached_end, "600 kB read {READ_CHUNK} bytes at a time");
        assert!((READ_CHUNK / 100 - 1..6_000).contains(&first), "{first}");
        let rest = texts(&mut f, 4 << 20).len();
        assert_eq!(first + rest, 6_000);
        assert!(f.reached_end);
        append(&log, &line.repeat(3));
        assert_eq!(texts(&mut f, 4 << 20).len(), 3);
        assert!(f.reached_end, "lines were read, and the end with them");
    }

    /// Rotated copies last written in the same clock tick (fast rotations) are read in the
    /// order their names give (`.2` before `.1` before the log), whatever their inode numbers:
    /// here the oldest copy has the newest inode, as a reused inode number can give it.
    #[test]
    fn copies_written_in_the_same_tick_are_read_oldest_name_first() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server_audit.log");
        let (one, two) = (log.with_extension("log.1"), log.with_extension("log.2"));
        append(&log, "new\n");
        append(&one, "middle\n");
        append(&two, "old\n");
        let tick = std::time::SystemTime::now();
        for p in [&log, &one, &two] {
            File::options()
                .append(true)
                .open(p)
                .unwrap()
                .set_modified(tick)
                .unwrap();
        }
        let ckpt = Checkpoint {
            file: log.clone(),
            inode: inode_of(&two).unwrap(),
            ..Checkpoint::default()
        };
        let mut f = Follower::new(&log, Some(&ckpt));
        let mut read = Vec::new();
        for _ in 0..3 {
            read.extend(texts(&mut f, 1 << 20));
            if f.moved_on() {
                f.switch();
            }
        }
        assert_eq!(read, ["old", "middle", "new"]);
        assert!(!f.moved_on());
    }

    /// A rotation may rename another file to the name a listing gave for an inode before
    /// it is opened: that file is not taken for the one looked for.
    #[test]
    fn a_file_is_opened_by_name_only_as_the_inode_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server_audit.log");
        let one = log.with_extension("log.1");
        append(&log, "new\n");
        append(&one, "old\n");
        let mut f = Follower::new(&log, None);
        let old = inode_of(&one).unwrap();
        assert!(!f.open(&log, 0, true, Some(old)));
        assert!(f.cur.is_none());
        assert!(f.open_inode(old, 0));
        assert_eq!(texts(&mut f, 1 << 20), ["old"]);
        assert!(f.moved_on(), "a rotated copy, read to its end");
    }

    /// `copytruncate`: the file shrinks under the follower, which starts it again from 0.
    #[test]
    fn a_file_truncated_in_place_is_followed_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.log");
        append(&log, "one\ntwo\n");
        let mut f = Follower::new(&log, None);
        assert_eq!(texts(&mut f, 1 << 20), ["one", "two"]);
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&log)
            .unwrap();
        append(&log, "3\n");
        assert!(f.moved_on());
        f.switch();
        assert_eq!(texts(&mut f, 1 << 20), ["3"]);
    }
}
