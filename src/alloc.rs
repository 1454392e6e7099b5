//! The process's allocator: mimalloc, asked the plain way whenever the
//! alignment allows.
//!
//! mimalloc instead of glibc's allocator: a request allocates and frees many
//! small buffers across threads, where glibc's arenas showed up as a tenth
//! of the server's time at an on-sale peak. The `mimalloc` crate's own
//! wrapper asks `mi_malloc_aligned` for everything, whose checks cost a
//! cached read about 1,500 instructions (docs/PERFORMANCE.md); an ordinary
//! alignment does not need them.
//!
//! Why `mi_malloc` is aligned enough: mimalloc rounds every block of 16
//! bytes or more to a multiple of 16 on 64-bit targets and starts its pages
//! 16-aligned (`MI_MAX_ALIGN_SIZE`), and an 8-byte block is 8-aligned. So a
//! layout whose alignment is at most 16 and at most its size is served by
//! the plain calls, as Rust's own `System` allocator does with `malloc`.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment every `mi_malloc` block of at least this size has.
const PLAIN_ALIGN: usize = 16;

pub struct Allocator;

fn plain(align: usize, size: usize) -> bool {
    align <= PLAIN_ALIGN && align <= size
}

// SAFETY: every call hands mimalloc a size and alignment from a valid
// `Layout` (or the new size of a `realloc`), and frees only its blocks.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        // SAFETY: see the impl.
        unsafe {
            if plain(align, size) {
                mi::mi_malloc(size).cast()
            } else {
                mi::mi_malloc_aligned(size, align).cast()
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        // SAFETY: see the impl.
        unsafe {
            if plain(align, size) {
                mi::mi_zalloc(size).cast()
            } else {
                mi::mi_zalloc_aligned(size, align).cast()
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _: Layout) {
        // SAFETY: `ptr` came from this allocator (the caller's contract).
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe {
            if plain(align, new_size) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, align).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size up to 4 KB (and some far larger) with every alignment up
    /// to 64 comes back aligned, zeroed where asked, and keeps its bytes
    /// through a realloc that changes the path it takes.
    #[test]
    fn every_layout_comes_back_aligned() {
        let a = Allocator;
        let sizes = (1..=4096).chain([65_536, 1 << 20, 5 << 20]);
        for size in sizes {
            for align in [1, 2, 4, 8, 16, 32, 64] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a valid, non-zero layout; freed below.
                unsafe {
                    let p = a.alloc_zeroed(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    assert!(std::slice::from_raw_parts(p, size).iter().all(|&b| b == 0));
                    p.write_bytes(0xA5, size);
                    let grown = size * 2 + 3;
                    let q = a.realloc(p, layout, grown);
                    assert_eq!(
                        q as usize % align,
                        0,
                        "realloc {size}→{grown} align {align}"
                    );
                    assert!(
                        std::slice::from_raw_parts(q, size)
                            .iter()
                            .all(|&b| b == 0xA5)
                    );
                    a.dealloc(q, Layout::from_size_align(grown, align).unwrap());
                    let r = a.alloc(layout);
                    assert_eq!(r as usize % align, 0, "size {size} align {align}");
                    a.dealloc(r, layout);
                }
            }
        }
    }
}
