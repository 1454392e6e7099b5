//! What an uploaded image must be: PNG, JPEG or WebP by its bytes (never by
//! its name or declared type), whole, at most 8000 px a side and 25
//! megapixels, and decodable. The header's size and the file's structure
//! are judged first, cheaply; then the image is decoded in full under a
//! memory limit, so garbage pixel data, a truncated stream or a decompression
//! bomb is refused here rather than on a buyer's phone.

use serde::Serialize;
use utoipa::ToSchema;

use super::Timestamp;
use crate::error::{Code, Rejection};

/// The longest side an image may declare.
pub const MAX_SIDE: usize = 8000;
/// The most pixels an image may have: a 25-megapixel photo is 100 MB once
/// a phone decodes it to RGBA.
pub const MAX_PIXELS: u64 = 25_000_000;
/// What decoding may allocate: the largest allowed image as RGBA at 16 bits
/// a channel, and a little over.
const DECODE_ALLOC: u64 = MAX_PIXELS * 8 + (16 << 20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Webp,
}

impl ImageKind {
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpg",
            ImageKind::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Webp => "image/webp",
        }
    }
}

/// An image that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    pub kind: ImageKind,
    pub width: u32,
    pub height: u32,
}

fn broken() -> Rejection {
    Rejection::new(Code::UploadInvalid, "图片文件不完整或已损坏")
}

/// PNG: every chunk whole with a good CRC, IHDR first, IEND last, nothing
/// after it.
fn png_whole(b: &[u8]) -> bool {
    let mut at = 8;
    let mut first = true;
    while at + 12 <= b.len() {
        let len = u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
        let Some(end) = at.checked_add(12).and_then(|e| e.checked_add(len)) else {
            return false;
        };
        if end > b.len() {
            return false;
        }
        let kind = &b[at + 4..at + 8];
        let crc = u32::from_be_bytes([b[end - 4], b[end - 3], b[end - 2], b[end - 1]]);
        if crc32fast::hash(&b[at + 4..end - 4]) != crc || (first && kind != b"IHDR") {
            return false;
        }
        first = false;
        if kind == b"IEND" {
            return end == b.len();
        }
        at = end;
    }
    false
}

/// JPEG: starts with SOI and ends with EOI.
fn jpeg_whole(b: &[u8]) -> bool {
    b.len() > 4 && b.starts_with(&[0xFF, 0xD8]) && b.ends_with(&[0xFF, 0xD9])
}

/// WebP: the RIFF size covers exactly the file (and its pad byte).
fn webp_whole(b: &[u8]) -> bool {
    if b.len() < 16 || &b[0..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return false;
    }
    let size = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    size + 8 == b.len() || (size % 2 == 1 && size + 9 == b.len())
}

/// Judges an upload's bytes.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::new(Code::ValidationFailed, "file：文件为空"));
    }
    let kind = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        ImageKind::Png
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ImageKind::Jpeg
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        ImageKind::Webp
    } else {
        return Err(Rejection::new(
            Code::UploadTypeNotAllowed,
            "只能上传 PNG、JPEG 或 WebP 图片（SVG 等其他格式不支持）",
        ));
    };
    let whole = match kind {
        ImageKind::Png => png_whole(bytes),
        ImageKind::Jpeg => jpeg_whole(bytes),
        ImageKind::Webp => webp_whole(bytes),
    };
    if !whole {
        return Err(broken());
    }
    let size = imagesize::blob_size(bytes).map_err(|_| broken())?;
    if size.width == 0 || size.height == 0 {
        return Err(broken());
    }
    if size.width > MAX_SIDE || size.height > MAX_SIDE {
        return Err(Rejection::new(
            Code::UploadInvalid,
            format!(
                "图片尺寸 {}×{} 超过上限：每边最多 {MAX_SIDE} 像素",
                size.width, size.height
            ),
        ));
    }
    let pixels = size.width as u64 * size.height as u64;
    if pixels > MAX_PIXELS {
        return Err(Rejection::new(
            Code::UploadInvalid,
            format!(
                "图片尺寸 {}×{} 超过上限：最多 2500 万像素，请缩小后再上传",
                size.width, size.height
            ),
        ));
    }
    decodes(bytes, kind, size.width as u32, size.height as u32)?;
    Ok(Inspected {
        kind,
        width: size.width as u32,
        height: size.height as u32,
    })
}

/// Decodes the whole image under a memory limit: its pixel data must be
/// there and be what the header says.
fn decodes(bytes: &[u8], kind: ImageKind, width: u32, height: u32) -> Result<(), Rejection> {
    let undecodable = || {
        Rejection::new(
            Code::UploadInvalid,
            "图片数据无法解码（文件已损坏或不完整）",
        )
    };
    let format = match kind {
        ImageKind::Png => image::ImageFormat::Png,
        // JPEG decoders fill what is missing with grey; the strict one
        // refuses a stream that runs out or does not conform.
        ImageKind::Jpeg => return jpeg_decodes(bytes, width, height).ok_or_else(undecodable),
        ImageKind::Webp => image::ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE as u32);
    limits.max_image_height = Some(MAX_SIDE as u32);
    limits.max_alloc = Some(DECODE_ALLOC);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Rejection::new(
            Code::UploadInvalid,
            "图片解码所需内存超过上限，请缩小后再上传",
        ),
        _ => undecodable(),
    })?;
    if decoded.width() != width || decoded.height() != height {
        return Err(undecodable());
    }
    Ok(())
}

fn jpeg_decodes(bytes: &[u8], width: u32, height: u32) -> Option<()> {
    let options = zune_core::options::DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        zune_core::bytestream::ZCursor::new(bytes),
        options,
    );
    decoder.decode().ok()?;
    let (w, h) = decoder.dimensions()?;
    (w == width as usize && h == height as usize).then_some(())
}

/// An upload as the admin sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub id: String,
    /// `STATIC_URL/<club>/<file>`: what a show's poster, a banner or the
    /// logo takes.
    pub url: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// Named by a show's poster, a banner, a merch item or the club's logo.
    pub in_use: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// The club's uploads and the disk they take.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadList {
    pub items: Vec<Upload>,
    pub total_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real PNG of `w`×`h`, encoded by the image crate.
    fn real_png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    /// A PNG of `w`×`h` whose chunks and CRCs are right but whose pixel
    /// data is a stub.
    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            out.extend((data.len() as u32).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend(data);
            out.extend(&body);
            out.extend(crc32fast::hash(&body).to_be_bytes());
        };
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(
            b"IDAT",
            &[0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 1],
        );
        chunk(b"IEND", &[]);
        out
    }

    #[test]
    fn pngs_are_whole_bounded_and_decodable() {
        assert_eq!(
            inspect(&real_png(3, 2)),
            Ok(Inspected {
                kind: ImageKind::Png,
                width: 3,
                height: 2
            })
        );
        // Right chunks, garbage pixels: refused.
        let garbage = inspect(&png(3, 2)).unwrap_err();
        assert_eq!(garbage.code, Code::UploadInvalid);
        assert!(garbage.message.contains("无法解码"), "{}", garbage.message);
        // 8000×8000 declared: more than 25 megapixels.
        let bomb = inspect(&png(8000, 8000)).unwrap_err();
        assert!(bomb.message.contains("2500 万像素"), "{}", bomb.message);
        let whole = real_png(3, 2);
        let cut = &whole[..whole.len() - 5];
        assert_eq!(inspect(cut).unwrap_err().code, Code::UploadInvalid);
        let mut padded = whole.clone();
        padded.extend(b"<script>");
        assert_eq!(inspect(&padded).unwrap_err().code, Code::UploadInvalid);
        let mut bad_crc = whole.clone();
        bad_crc[20] ^= 1;
        assert_eq!(inspect(&bad_crc).unwrap_err().code, Code::UploadInvalid);
        let huge = inspect(&png(100_000, 100_000)).unwrap_err();
        assert_eq!(huge.code, Code::UploadInvalid);
        assert!(huge.message.contains("8000"));
    }

    #[test]
    fn other_types_are_refused() {
        for bytes in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"[..],
            b"#!/bin/sh\nrm -rf /\n",
            b"GIF89a\x01\x00\x01\x00",
            b"PK\x03\x04",
        ] {
            assert_eq!(inspect(bytes).unwrap_err().code, Code::UploadTypeNotAllowed);
        }
        assert_eq!(inspect(b"").unwrap_err().code, Code::ValidationFailed);
        assert_eq!(
            inspect(b"\xff\xd8\xff\xe0").unwrap_err().code,
            Code::UploadInvalid
        );
        assert_eq!(
            inspect(b"RIFF\x10\x00\x00\x00WEBPVP8 ").unwrap_err().code,
            Code::UploadInvalid
        );
    }
}
