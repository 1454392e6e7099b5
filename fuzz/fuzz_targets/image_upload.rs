//! Any bytes as an uploaded image: judging them never panics, and what is
//! accepted is one of the three types, within the size limits (side and
//! pixels), decodes, and carries its type's signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use standup_tickets::model::uploads::{ImageKind, MAX_PIXELS, MAX_SIDE, inspect};

fuzz_target!(|data: &[u8]| {
    let Ok(image) = inspect(data) else {
        return;
    };
    assert!(image.width >= 1 && image.width as usize <= MAX_SIDE);
    assert!(image.height >= 1 && image.height as usize <= MAX_SIDE);
    assert!(u64::from(image.width) * u64::from(image.height) <= MAX_PIXELS);
    match image.kind {
        ImageKind::Png => assert!(data.starts_with(b"\x89PNG\r\n\x1a\n")),
        ImageKind::Jpeg => {
            assert!(data.starts_with(&[0xFF, 0xD8, 0xFF]) && data.ends_with(&[0xFF, 0xD9]))
        }
        ImageKind::Webp => assert!(data.starts_with(b"RIFF") && &data[8..12] == b"WEBP"),
    }
});
