//! One `write(2)` per commit for the writer's WAL.
//!
//! SQLite appends a commit to the WAL as one frame per dirty page, and each
//! frame as two writes (its 24-byte header, then the page). At an on-sale
//! peak a commit of 64 orders is ~80 frames of 1 KB pages: ~160 `pwrite`
//! calls, most of their cost the kernel's per call rather than copying
//! (docs/PERFORMANCE.md has the profile).
//!
//! This VFS wraps the platform's default one for the writer's connection
//! only. Every file but the WAL is the default VFS's own file, untouched.
//! For the WAL, appended frames collect in memory and reach the file in one
//! write when the commit frame (the frame whose header carries the database
//! size) has been appended. That is before SQLite's write call returns, so
//! before SQLite publishes the commit in the shared WAL index: a reader, the
//! checkpointer or the flusher's `fdatasync` only ever see a WAL whose bytes
//! are exactly what SQLite would have written, in the same order. Anything
//! else SQLite asks of the file (a read, a sync, its size, a truncate, a
//! write that is not an append, a close) first writes out what is collected.
//! A failed write is SQLite's I/O error on the commit, which then rolls back.

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name the writer's connection opens its database with.
pub(crate) const NAME: &std::ffi::CStr = c"standup-wal-append";

const FRAME_HEADER: usize = 24;
/// Bytes per write: the unix VFS takes fewer than 128 KiB per call (it masks
/// the length to 17 bits). A commit of 64 orders, ~85 KB, is one write; a
/// larger one (a migration, a bulk import) goes out in several, none of which
/// is visible to anybody before the commit frame is written.
const MAX_WRITE: usize = 128 * 1024 - 4096;

/// The wrapped VFS, stored as an address: the pointer is SQLite's, valid for
/// the life of the process.
static BASE: OnceLock<usize> = OnceLock::new();
static REGISTERED: OnceLock<Result<(), c_int>> = OnceLock::new();

/// Registers the VFS (once per process). Errors name SQLite's result code.
pub(crate) fn register() -> Result<(), String> {
    let outcome = REGISTERED.get_or_init(|| {
        // SAFETY: `sqlite3_vfs_find(NULL)` initialises SQLite and returns its
        // default VFS, which lives as long as the process.
        let base = unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) };
        if base.is_null() {
            return Err(ffi::SQLITE_ERROR);
        }
        // SAFETY: `base` is valid (above); copying it keeps every method,
        // and `pAppData`, which the default VFS's own methods consult.
        let mut vfs: ffi::sqlite3_vfs = unsafe { *base };
        let Ok(inner_size) = usize::try_from(vfs.szOsFile) else {
            return Err(ffi::SQLITE_ERROR);
        };
        let Ok(size) = c_int::try_from(INNER_AT + inner_size) else {
            return Err(ffi::SQLITE_ERROR);
        };
        vfs.szOsFile = size;
        vfs.pNext = std::ptr::null_mut();
        vfs.zName = NAME.as_ptr();
        vfs.xOpen = Some(x_open);
        let _ = BASE.set(base as usize);
        // SQLite keeps the pointer for ever: the VFS is leaked on purpose.
        let vfs = Box::leak(Box::new(vfs));
        // SAFETY: `vfs` is a complete, 'static VFS; 0 = not the default.
        match unsafe { ffi::sqlite3_vfs_register(vfs, 0) } {
            ffi::SQLITE_OK => Ok(()),
            rc => Err(rc),
        }
    });
    outcome.map_err(|rc| format!("registering the WAL VFS failed (SQLite code {rc})"))
}

fn base_vfs() -> *mut ffi::sqlite3_vfs {
    BASE.get().map_or(std::ptr::null_mut(), |&p| p as *mut _)
}

/// What SQLite allocates for a WAL file opened through this VFS: this
/// header, then the default VFS's own file at `INNER_AT`.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    inner: *mut ffi::sqlite3_file,
    state: *mut Appends,
}

const INNER_AT: usize = std::mem::size_of::<WalFile>().next_multiple_of(16);

/// Frames appended since the last write to the file.
struct Appends {
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    at: i64,
    /// End of what this handle has written since the log last started over:
    /// a write at or past it is an append (a new frame), one before it
    /// rewrites a frame of the current transaction.
    end: i64,
    /// The last header appended was a commit frame's: its page ends the commit.
    commit_next: bool,
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = base_vfs();
    // SAFETY: `register` set `base` before this VFS could be found.
    let Some(open) = (unsafe { base.as_ref() }).and_then(|b| b.xOpen) else {
        return ffi::SQLITE_ERROR;
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Not the WAL: the default VFS's own file, in the space SQLite
        // allocated (larger than that file needs).
        // SAFETY: forwarding SQLite's own arguments.
        return unsafe { open(base, name, file, flags, out_flags) };
    }
    // SAFETY: SQLite allocated `szOsFile` (= INNER_AT + the default's size)
    // bytes at `file`, aligned for any C object.
    let inner = unsafe { file.cast::<u8>().add(INNER_AT).cast::<ffi::sqlite3_file>() };
    let wal = file.cast::<WalFile>();
    // SAFETY: as above; the header is ours to initialise.
    unsafe {
        (*wal).base.pMethods = std::ptr::null();
        (*wal).inner = inner;
        (*wal).state = std::ptr::null_mut();
    }
    // SAFETY: forwarding SQLite's arguments with the inner file's space.
    let rc = unsafe { open(base, name, inner, flags, out_flags) };
    if rc != ffi::SQLITE_OK {
        // SQLite calls xClose only if pMethods is set; close the inner
        // file ourselves if its open got that far.
        // SAFETY: the inner file is either unopened (NULL methods) or open.
        unsafe {
            if let Some(close) = (*inner).pMethods.as_ref().and_then(|m| m.xClose) {
                close(inner);
            }
        }
        return rc;
    }
    let state = Box::new(Appends {
        buf: Vec::new(),
        at: 0,
        end: 0,
        commit_next: false,
    });
    // SAFETY: the header was initialised above.
    unsafe {
        (*wal).state = Box::into_raw(state);
        (*wal).base.pMethods = &METHODS;
    }
    ffi::SQLITE_OK
}

/// The inner file, its methods and our state, for a file this VFS opened
/// as a WAL (only such files carry `METHODS`).
///
/// # Safety
/// `file` must be a `WalFile` opened by `x_open`, not yet closed.
unsafe fn parts<'a>(
    file: *mut ffi::sqlite3_file,
) -> (
    *mut ffi::sqlite3_file,
    &'a ffi::sqlite3_io_methods,
    &'a mut Appends,
) {
    let wal = file.cast::<WalFile>();
    // SAFETY: per the contract; the inner file's methods are set while open.
    unsafe { ((*wal).inner, &*(*(*wal).inner).pMethods, &mut *(*wal).state) }
}

/// Writes out the collected frames, in one write.
fn flush(inner: *mut ffi::sqlite3_file, m: &ffi::sqlite3_io_methods, s: &mut Appends) -> c_int {
    s.flush(&mut |bytes, at| inner_write(inner, m, bytes, at))
}

fn inner_write(
    inner: *mut ffi::sqlite3_file,
    m: &ffi::sqlite3_io_methods,
    bytes: &[u8],
    at: i64,
) -> c_int {
    match (m.xWrite, c_int::try_from(bytes.len())) {
        // SAFETY: the inner file is open; `bytes` is valid for its length.
        (Some(write), Ok(len)) => unsafe { write(inner, bytes.as_ptr().cast(), len, at) },
        _ => ffi::SQLITE_IOERR_WRITE,
    }
}

/// The write path, apart from SQLite's types so it can be tested alone:
/// `out` is the file's own write.
type Out<'a> = dyn FnMut(&[u8], i64) -> c_int + 'a;

impl Appends {
    fn flush(&mut self, out: &mut Out<'_>) -> c_int {
        if self.buf.is_empty() {
            return ffi::SQLITE_OK;
        }
        let rc = out(&self.buf, self.at);
        // Whether or not it reached the file, it must not go out later: on
        // an error SQLite abandons this commit and writes its frames again.
        self.buf.clear();
        if rc != ffi::SQLITE_OK {
            self.commit_next = false;
        }
        rc
    }

    fn write(&mut self, bytes: &[u8], offset: i64, out: &mut Out<'_>) -> c_int {
        let len = bytes.len();
        if offset == 0 {
            // The WAL header: the log starts over, and the old frames behind
            // it are dead. Written at once (SQLite may sync it before any
            // frame).
            let rc = self.flush(out);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            self.end = len as i64;
            self.commit_next = false;
            return out(bytes, offset);
        }
        let appending = !self.buf.is_empty()
            && offset == self.at + self.buf.len() as i64
            && self.buf.len() + len <= MAX_WRITE;
        if !appending {
            let rc = self.flush(out);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            if offset < self.end || len > MAX_WRITE {
                // A frame of this transaction rewritten in place (or its
                // checksum): not an append, so it goes straight to the file.
                return out(bytes, offset);
            }
            self.at = offset;
        }
        self.buf.extend_from_slice(bytes);
        self.end = self.end.max(offset + len as i64);
        if len == FRAME_HEADER {
            // Bytes 4..8 of a frame header: the database size in pages
            // after the commit for a commit frame, zero for any other.
            self.commit_next = bytes[4..8] != [0, 0, 0, 0];
            return ffi::SQLITE_OK;
        }
        if self.commit_next {
            // The commit frame's page: the commit is complete, and goes out
            // before SQLite publishes it.
            self.commit_next = false;
            return self.flush(out);
        }
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amt: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite calls this only on a file x_open gave METHODS.
    let (inner, m, s) = unsafe { parts(file) };
    let len = match usize::try_from(amt) {
        Ok(len) if len > 0 && !data.is_null() => len,
        _ => return ffi::SQLITE_IOERR_WRITE,
    };
    // SAFETY: SQLite passes `amt` readable bytes at `data`.
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
    s.write(bytes, offset, &mut |b, at| inner_write(inner, m, b, at))
}

/// Methods that look at the file see it complete: write out first.
macro_rules! flushed {
    ($file:expr, |$inner:ident, $m:ident, $s:ident| $call:expr) => {{
        // SAFETY: SQLite calls this only on a file x_open gave METHODS.
        let ($inner, $m, $s) = unsafe { parts($file) };
        let rc = flush($inner, $m, $s);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        $call
    }};
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amt: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    flushed!(file, |inner, m, _s| match m.xRead {
        // SAFETY: forwarding SQLite's arguments to the open inner file.
        Some(f) => unsafe { f(inner, buf, amt, offset) },
        None => ffi::SQLITE_IOERR_READ,
    })
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    flushed!(file, |inner, m, s| {
        s.end = s.end.min(size);
        // SAFETY: as in x_read.
        m.xTruncate
            .map_or(ffi::SQLITE_IOERR_TRUNCATE, |f| unsafe { f(inner, size) })
    })
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    flushed!(file, |inner, m, _s| m
        .xSync
        // SAFETY: as in x_read.
        .map_or(ffi::SQLITE_IOERR_FSYNC, |f| unsafe { f(inner, flags) }))
}

unsafe extern "C" fn x_file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    flushed!(file, |inner, m, _s| m
        .xFileSize
        // SAFETY: as in x_read.
        .map_or(ffi::SQLITE_IOERR_FSTAT, |f| unsafe { f(inner, size) }))
}

unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    flushed!(file, |inner, m, _s| m
        .xFileControl
        // SAFETY: as in x_read.
        .map_or(ffi::SQLITE_NOTFOUND, |f| unsafe { f(inner, op, arg) }))
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite calls this only on a file x_open gave METHODS, once.
    let (inner, m, s) = unsafe { parts(file) };
    let flushed = flush(inner, m, s);
    // SAFETY: the inner file is open; it is closed exactly once, here.
    let closed = m.xClose.map_or(ffi::SQLITE_OK, |f| unsafe { f(inner) });
    let wal = file.cast::<WalFile>();
    // SAFETY: `state` came from Box::into_raw in x_open and is freed once.
    unsafe {
        drop(Box::from_raw((*wal).state));
        (*wal).state = std::ptr::null_mut();
        (*wal).base.pMethods = std::ptr::null();
    }
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

/// The rest is the inner file's business (locks, sector size, shared
/// memory, which SQLite asks of the database file, not the WAL).
macro_rules! forward {
    ($name:ident, $field:ident, $missing:expr, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> $ret {
            // SAFETY: SQLite calls this only on a file x_open gave METHODS.
            let (inner, m, _) = unsafe { parts(file) };
            match m.$field {
                // SAFETY: forwarding SQLite's arguments to the open inner file.
                Some(f) => unsafe { f(inner $(, $arg)*) },
                None => $missing,
            }
        }
    };
}

forward!(x_lock, xLock, ffi::SQLITE_OK, (level: c_int) -> c_int);
forward!(x_unlock, xUnlock, ffi::SQLITE_OK, (level: c_int) -> c_int);
forward!(x_check_reserved_lock, xCheckReservedLock, ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
    (out: *mut c_int) -> c_int);
forward!(x_sector_size, xSectorSize, 4096, () -> c_int);
forward!(x_device_characteristics, xDeviceCharacteristics, 0, () -> c_int);
forward!(x_shm_map, xShmMap, ffi::SQLITE_IOERR_SHMMAP,
    (page: c_int, size: c_int, extend: c_int, out: *mut *mut c_void) -> c_int);
forward!(x_shm_lock, xShmLock, ffi::SQLITE_IOERR_SHMLOCK,
    (offset: c_int, n: c_int, flags: c_int) -> c_int);
forward!(x_shm_unmap, xShmUnmap, ffi::SQLITE_OK, (delete: c_int) -> c_int);
forward!(x_unfetch, xUnfetch, ffi::SQLITE_OK, (offset: ffi::sqlite3_int64, p: *mut c_void) -> c_int);

unsafe extern "C" fn x_shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: SQLite calls this only on a file x_open gave METHODS.
    let (inner, m, _) = unsafe { parts(file) };
    if let Some(f) = m.xShmBarrier {
        // SAFETY: forwarding to the open inner file.
        unsafe { f(inner) }
    }
}

unsafe extern "C" fn x_fetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    amt: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // A mapping would show bytes still collected here: write them out.
    flushed!(file, |inner, m, _s| match m.xFetch {
        // SAFETY: as in x_read.
        Some(f) => unsafe { f(inner, offset, amt, out) },
        None => {
            // SAFETY: SQLite passes a valid out-pointer; NULL = no mapping.
            unsafe { *out = std::ptr::null_mut() };
            ffi::SQLITE_OK
        }
    })
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};

#[cfg(test)]
mod tests {
    use super::*;

    /// A file as the OS holds it, and every write that reached it.
    #[derive(Default)]
    struct Disk {
        bytes: Vec<u8>,
        writes: Vec<usize>,
    }

    impl Disk {
        fn put(&mut self, b: &[u8], at: i64) -> c_int {
            let at = at as usize;
            if self.bytes.len() < at + b.len() {
                self.bytes.resize(at + b.len(), 0);
            }
            self.bytes[at..at + b.len()].copy_from_slice(b);
            self.writes.push(b.len());
            ffi::SQLITE_OK
        }
    }

    fn frame_header(commit: bool, salt: u8) -> Vec<u8> {
        let mut h = vec![salt; FRAME_HEADER];
        h[4..8].copy_from_slice(&(commit as u32).to_be_bytes());
        h
    }

    /// Random logs (several page sizes, commits of up to 200 frames, log
    /// restarts, frames of the open transaction rewritten in place, reads in
    /// between) against what SQLite would have written directly: once the
    /// write of a commit frame's page returns, and whenever SQLite next looks
    /// at the file, the file holds exactly those bytes; no write is larger
    /// than the unix VFS takes; and a commit that fits goes out in one write.
    #[test]
    fn commits_reach_the_file_whole_and_in_one_write() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for page in [512usize, 1024, 4096, 32768] {
            let mut s = Appends {
                buf: Vec::new(),
                at: 0,
                end: 0,
                commit_next: false,
            };
            let mut disk = Disk::default();
            let mut want: Vec<u8> = Vec::new();
            let expect = |want: &mut Vec<u8>, b: &[u8], at: usize| {
                if want.len() < at + b.len() {
                    want.resize(at + b.len(), 0);
                }
                want[at..at + b.len()].copy_from_slice(b);
            };
            let mut next = 0usize;
            for txn in 0..400u64 {
                let salt = (txn % 251) as u8;
                if next == 0 || next > (4 << 20) || rand(20) == 0 {
                    let h = vec![salt; 32];
                    assert_eq!(s.write(&h, 0, &mut |b, at| disk.put(b, at)), 0);
                    expect(&mut want, &h, 0);
                    next = 32;
                }
                let frames = 1 + rand(if page > 4096 { 12 } else { 200 }) as usize;
                let first = next;
                let writes_before = disk.writes.len();
                let mut interrupted = false;
                for f in 0..frames {
                    let commit = f + 1 == frames;
                    let h = frame_header(commit, salt);
                    let p = vec![salt.wrapping_add(f as u8); page];
                    assert_eq!(s.write(&h, next as i64, &mut |b, at| disk.put(b, at)), 0);
                    expect(&mut want, &h, next);
                    assert_eq!(
                        s.write(&p, (next + FRAME_HEADER) as i64, &mut |b, at| disk
                            .put(b, at)),
                        0
                    );
                    expect(&mut want, &p, next + FRAME_HEADER);
                    next += FRAME_HEADER + page;
                    if !commit && f > 0 && rand(40) == 0 {
                        // A page of this transaction written again in place.
                        let back = first + (rand(f as u64) as usize) * (FRAME_HEADER + page);
                        let p = vec![0xEE; page];
                        let at = back + FRAME_HEADER;
                        assert_eq!(s.write(&p, at as i64, &mut |b, at| disk.put(b, at)), 0);
                        expect(&mut want, &p, at);
                        interrupted = true;
                    }
                    if !commit && rand(100) == 0 {
                        // SQLite reads (or syncs) the file: it sees it whole.
                        assert_eq!(s.flush(&mut |b, at| disk.put(b, at)), 0);
                        assert_eq!(disk.bytes, want);
                        interrupted = true;
                    }
                }
                assert!(s.buf.is_empty(), "commit left collected");
                assert_eq!(disk.bytes, want, "page {page}, commit {txn}");
                if next - first <= MAX_WRITE && !interrupted {
                    assert_eq!(
                        disk.writes.len(),
                        writes_before + 1,
                        "page {page}, commit {txn}"
                    );
                }
            }
            assert!(disk.writes.iter().all(|&w| w <= MAX_WRITE));
        }
    }
}
