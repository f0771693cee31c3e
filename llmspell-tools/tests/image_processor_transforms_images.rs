//! `image_processor` through the hooked registry: each operation's output is
//! decoded again and its dimensions and pixels checked; bad files, crop
//! boxes outside the image, paths outside the roots, images larger than the
//! limits (a decompression bomb's header) and existing outputs are refused
//! with errors that say why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_tools::media::MediaConfig;
use llmspell_tools::{BuiltinToolsConfig, ToolRegistry, builtin_tools};
use serde_json::{Value, json};
use tempfile::TempDir;

const RED: Rgb<u8> = Rgb([255, 0, 0]);
const BLUE: Rgb<u8> = Rgb([0, 0, 255]);
const GREEN: Rgb<u8> = Rgb([0, 255, 0]);

/// A 40 × 20 image: the left half red, the right half blue, the top-left
/// pixel green.
fn picture() -> RgbImage {
    let mut img = RgbImage::from_fn(40, 20, |x, _| if x < 20 { RED } else { BLUE });
    img.put_pixel(0, 0, GREEN);
    img
}

struct Rig {
    dir: TempDir,
    hooks: HookRegistry,
    tools: ToolRegistry,
}

fn rig_with(media: MediaConfig) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    picture().save(dir.path().join("pic.png")).unwrap();
    let hooks = HookRegistry::new();
    let tools = ToolRegistry::new(GuardedRunner::new(HookExecutor::new(hooks.clone())));
    tools
        .register_all(builtin_tools(&BuiltinToolsConfig {
            fs_roots: vec![dir.path().to_path_buf()],
            media,
            ..BuiltinToolsConfig::default()
        }))
        .unwrap();
    Rig { dir, hooks, tools }
}

fn rig() -> Rig {
    rig_with(MediaConfig::default())
}

impl Rig {
    async fn call(&self, params: Value) -> Result<Value, Error> {
        self.tools
            .invoke("image_processor", params, &ExecutionContext::native())
            .await
    }

    fn open(&self, name: &str) -> (ImageFormat, DynamicImage) {
        let bytes = std::fs::read(self.dir.path().join(name)).unwrap();
        let format = image::guess_format(&bytes).unwrap();
        (format, image::load_from_memory(&bytes).unwrap())
    }
}

fn rgb(img: &DynamicImage, x: u32, y: u32) -> [u8; 3] {
    img.to_rgb8().get_pixel(x, y).0
}

fn field_of(err: &Error) -> &str {
    match err {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn info_reads_the_header() {
    let r = rig();
    let out = r
        .call(json!({ "operation": "info", "path": "pic.png" }))
        .await
        .unwrap();
    assert_eq!(out["format"], "png");
    assert_eq!(
        (out["width"].as_u64(), out["height"].as_u64()),
        (Some(40), Some(20))
    );
    assert_eq!(out["color_type"], "rgb8");
    assert_eq!(out["has_alpha"], false);
    assert_eq!(
        out["bytes"].as_u64().unwrap(),
        std::fs::metadata(r.dir.path().join("pic.png"))
            .unwrap()
            .len()
    );
}

#[tokio::test]
async fn resize_keeps_the_aspect_or_stretches() {
    let r = rig();
    let out = r
        .call(json!({ "operation": "resize", "path": "pic.png", "width": 20, "filter": "nearest", "output_path": "half.png" }))
        .await
        .unwrap();
    assert_eq!(
        (out["width"].as_u64(), out["height"].as_u64()),
        (Some(20), Some(10))
    );
    let (_, img) = r.open("half.png");
    assert_eq!((img.width(), img.height()), (20, 10));
    assert_eq!(rgb(&img, 2, 5), RED.0);
    assert_eq!(rgb(&img, 17, 5), BLUE.0);

    // Both sides with keep_aspect: fits inside 10 × 10.
    r.call(json!({ "operation": "resize", "path": "pic.png", "width": 10, "height": 10, "output_path": "fit.png" }))
        .await
        .unwrap();
    let (_, img) = r.open("fit.png");
    assert_eq!((img.width(), img.height()), (10, 5));

    r.call(json!({ "operation": "resize", "path": "pic.png", "width": 10, "height": 30, "keep_aspect": false, "output_path": "tall.png" }))
        .await
        .unwrap();
    let (_, img) = r.open("tall.png");
    assert_eq!((img.width(), img.height()), (10, 30));

    let err = r
        .call(json!({ "operation": "resize", "path": "pic.png", "width": 10, "keep_aspect": false, "output_path": "x.png" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "height", "{err}");
}

#[tokio::test]
async fn crop_cuts_the_box_and_refuses_one_outside_the_image() {
    let r = rig();
    let out = r
        .call(json!({ "operation": "crop", "path": "pic.png", "x": 30, "y": 5, "width": 10, "height": 15, "output_path": "blue.png" }))
        .await
        .unwrap();
    assert_eq!(
        (out["width"].as_u64(), out["height"].as_u64()),
        (Some(10), Some(15))
    );
    let (_, img) = r.open("blue.png");
    assert!(img.to_rgb8().pixels().all(|p| *p == BLUE));

    let err = r
        .call(json!({ "operation": "crop", "path": "pic.png", "x": 30, "y": 0, "width": 11, "height": 5, "output_path": "no.png" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "width");
    assert!(
        err.to_string().contains("x + width must be at most 40"),
        "{err}"
    );
    let err = r
        .call(json!({ "operation": "crop", "path": "pic.png", "x": 0, "y": 20, "width": 1, "height": 1, "output_path": "no.png" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "y");
    assert!(!r.dir.path().join("no.png").exists());
}

#[tokio::test]
async fn rotate_and_flip_move_the_pixels() {
    let r = rig();
    r.call(json!({ "operation": "rotate", "path": "pic.png", "degrees": 90, "output_path": "r90.png" }))
        .await
        .unwrap();
    let (_, img) = r.open("r90.png");
    assert_eq!((img.width(), img.height()), (20, 40));
    // Clockwise: the top-left corner goes to the top-right.
    assert_eq!(rgb(&img, 19, 0), GREEN.0);
    assert_eq!(rgb(&img, 5, 35), BLUE.0);

    r.call(json!({ "operation": "rotate", "path": "pic.png", "degrees": 180, "output_path": "r180.png" }))
        .await
        .unwrap();
    let (_, img) = r.open("r180.png");
    assert_eq!((img.width(), img.height()), (40, 20));
    assert_eq!(rgb(&img, 39, 19), GREEN.0);

    r.call(json!({ "operation": "flip", "path": "pic.png", "direction": "horizontal", "output_path": "fh.png" }))
        .await
        .unwrap();
    let (_, img) = r.open("fh.png");
    assert_eq!(rgb(&img, 39, 0), GREEN.0);
    assert_eq!(rgb(&img, 0, 10), BLUE.0);

    r.call(json!({ "operation": "flip", "path": "pic.png", "direction": "vertical", "output_path": "fv.png" }))
        .await
        .unwrap();
    let (_, img) = r.open("fv.png");
    assert_eq!(rgb(&img, 0, 19), GREEN.0);

    let err = r
        .call(json!({ "operation": "rotate", "path": "pic.png", "degrees": 45, "output_path": "r45.png" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "degrees", "{err}");
}

#[tokio::test]
async fn grayscale_leaves_only_grays() {
    let r = rig();
    let out = r
        .call(json!({ "operation": "grayscale", "path": "pic.png", "output_path": "gray.png" }))
        .await
        .unwrap();
    assert_eq!(out["color_type"], "l8");
    let (_, img) = r.open("gray.png");
    let pixels = img.to_rgb8();
    assert!(pixels.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
    // Red and blue have different luminance.
    assert_ne!(rgb(&img, 5, 5), rgb(&img, 35, 5));
}

#[tokio::test]
async fn convert_writes_each_format() {
    let r = rig();
    for (ext, format) in [
        ("jpg", ImageFormat::Jpeg),
        ("webp", ImageFormat::WebP),
        ("gif", ImageFormat::Gif),
        ("png", ImageFormat::Png),
    ] {
        let name = format!("out.{ext}");
        let out = r
            .call(json!({ "operation": "convert", "path": "pic.png", "output_path": name }))
            .await
            .unwrap();
        let (found, img) = r.open(&name);
        assert_eq!(found, format, "{ext}");
        assert_eq!((img.width(), img.height()), (40, 20), "{ext}");
        assert_eq!(
            out["bytes"].as_u64().unwrap(),
            std::fs::metadata(r.dir.path().join(&name)).unwrap().len()
        );
        if ext == "jpg" {
            // Lossy: close to red and blue away from the edge.
            let [red, _, blue] = rgb(&img, 8, 10);
            assert!(red > 200 && blue < 60, "{ext}: {red} {blue}");
        } else {
            // Lossless WebP, PNG and a GIF of three colors keep every pixel.
            assert_eq!(img.to_rgb8(), picture(), "{ext}");
        }
    }
    // An explicit format wins over the extension.
    let out = r
        .call(json!({ "operation": "convert", "path": "pic.png", "output_path": "named.png", "format": "webp" }))
        .await
        .unwrap();
    assert_eq!(out["format"], "webp");
    assert_eq!(r.open("named.png").0, ImageFormat::WebP);
}

#[tokio::test]
async fn transparency_is_kept_where_the_format_has_it() {
    let r = rig();
    let mut img = RgbaImage::from_pixel(4, 4, Rgba([0, 0, 255, 255]));
    img.put_pixel(1, 1, Rgba([255, 0, 0, 0]));
    img.save(r.dir.path().join("alpha.png")).unwrap();
    r.call(json!({ "operation": "convert", "path": "alpha.png", "output_path": "alpha.webp" }))
        .await
        .unwrap();
    let (_, webp) = r.open("alpha.webp");
    assert_eq!(webp.to_rgba8().get_pixel(1, 1)[3], 0);
    let out = r
        .call(json!({ "operation": "convert", "path": "alpha.png", "output_path": "alpha.jpg", "quality": 95 }))
        .await
        .unwrap();
    assert_eq!(out["color_type"], "rgba8", "the decoded input");
    let (_, jpeg) = r.open("alpha.jpg");
    assert!(!jpeg.color().has_alpha());
}

#[tokio::test]
async fn thumbnail_fits_the_box() {
    let r = rig();
    let out = r
        .call(json!({ "operation": "thumbnail", "path": "pic.png", "max_size": 8, "output_path": "t.png" }))
        .await
        .unwrap();
    assert_eq!(
        (out["width"].as_u64(), out["height"].as_u64()),
        (Some(8), Some(4))
    );
    let (_, img) = r.open("t.png");
    assert_eq!((img.width(), img.height()), (8, 4));
    assert_eq!(rgb(&img, 1, 2), RED.0);
    assert_eq!(rgb(&img, 6, 2), BLUE.0);
}

#[tokio::test]
async fn bad_files_are_named() {
    let r = rig();
    let dir = r.dir.path();
    std::fs::write(dir.join("notes.txt"), "just text").unwrap();
    let err = r
        .call(json!({ "operation": "info", "path": "notes.txt" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "path");
    assert!(
        err.to_string().contains("cannot tell the image format"),
        "{err}"
    );

    // A PNG cut off after its header: the header reads, the pixels do not.
    let png = std::fs::read(dir.join("pic.png")).unwrap();
    std::fs::write(dir.join("cut.png"), &png[..png.len() / 2]).unwrap();
    let err = r
        .call(json!({ "operation": "grayscale", "path": "cut.png", "output_path": "g.png" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "path");
    assert!(err.to_string().contains("not a valid png image"), "{err}");
    assert!(!dir.join("g.png").exists());

    // A format the tool does not handle.
    let mut bmp = b"BM".to_vec();
    bmp.resize(64, 0);
    std::fs::write(dir.join("pic.bmp"), bmp).unwrap();
    let err = r
        .call(json!({ "operation": "info", "path": "pic.bmp" }))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("is a bmp image; supported formats are png, jpeg, webp and gif"),
        "{err}"
    );

    let err = r
        .call(json!({ "operation": "info", "path": "missing.png" }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn out_of_range_values_are_refused_by_the_registry_and_by_the_tool_alone() {
    use llmspell_core::Tool as _;
    let r = rig();
    let direct =
        llmspell_tools::media::ImageProcessor::new(llmspell_tools::FsSandbox::new([r.dir.path()]));
    for (params, field) in [
        (
            json!({ "operation": "thumbnail", "path": "pic.png", "max_size": 0, "output_path": "t.png" }),
            "max_size",
        ),
        (
            json!({ "operation": "convert", "path": "pic.png", "quality": 0, "output_path": "t.jpg" }),
            "quality",
        ),
        (
            json!({ "operation": "resize", "path": "pic.png", "width": 0, "output_path": "t.png" }),
            "width",
        ),
    ] {
        let err = r.call(params.clone()).await.unwrap_err();
        assert_eq!(field_of(&err), field, "registry: {err}");
        let err = direct
            .execute(params, &ExecutionContext::native())
            .await
            .unwrap_err();
        assert_eq!(field_of(&err), field, "tool: {err}");
    }
    assert!(!r.dir.path().join("t.png").exists());
}

#[tokio::test]
async fn paths_outside_the_roots_are_refused() {
    let r = rig();
    let outside = tempfile::tempdir().unwrap();
    picture().save(outside.path().join("secret.png")).unwrap();
    let secret = outside.path().join("secret.png");
    let err = r
        .call(json!({ "operation": "info", "path": secret.to_str().unwrap() }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecurityViolation { .. }), "{err:?}");
    let err = r
        .call(json!({ "operation": "convert", "path": "pic.png", "output_path": "../escape.png" }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecurityViolation { .. }), "{err:?}");
    let target = outside.path().join("copy.png");
    let err = r
        .call(json!({ "operation": "convert", "path": "pic.png", "output_path": target.to_str().unwrap() }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecurityViolation { .. }), "{err:?}");
    assert!(!target.exists());
}

#[tokio::test]
async fn existing_outputs_are_replaced_only_when_asked() {
    let r = rig();
    std::fs::write(r.dir.path().join("keep.png"), "precious").unwrap();
    let err = r
        .call(json!({ "operation": "convert", "path": "pic.png", "output_path": "keep.png" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "output_path");
    assert_eq!(
        std::fs::read_to_string(r.dir.path().join("keep.png")).unwrap(),
        "precious"
    );
    r.call(json!({ "operation": "convert", "path": "pic.png", "output_path": "keep.png", "overwrite": true }))
        .await
        .unwrap();
    assert_eq!(r.open("keep.png").1.width(), 40);
}

/// One PNG chunk: length, type, data, CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(&body);
    let mut out = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// A PNG whose header declares `width` × `height` pixels, with a few bytes
/// of image data: what a decompression bomb looks like to a reader that
/// trusts the header.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    use std::io::Write as _;
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(&[0u8; 4096]).unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &zlib.finish().unwrap()));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[tokio::test]
async fn huge_images_are_refused_from_their_header() {
    let r = rig();
    std::fs::write(r.dir.path().join("bomb.png"), png_header(100_000, 100_000)).unwrap();
    // `info` reads the header only and reports it.
    let out = r
        .call(json!({ "operation": "info", "path": "bomb.png" }))
        .await
        .unwrap();
    assert_eq!(out["width"], 100_000);
    let err = r
        .call(json!({ "operation": "grayscale", "path": "bomb.png", "output_path": "g.png" }))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::ResourceLimitExceeded {
            resource: "image_pixels".into(),
            limit: 40_000_000,
            requested: 10_000_000_000
        }
    );
    // A result over the limit is refused before it is computed.
    let err = r
        .call(json!({ "operation": "resize", "path": "pic.png", "width": 40_000, "height": 20_000, "keep_aspect": false, "output_path": "big.png" }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResourceLimitExceeded { ref resource, .. } if resource == "image_pixels"),
        "{err:?}"
    );
}

#[tokio::test]
async fn configured_limits_reach_the_tool() {
    let r = rig_with(MediaConfig {
        max_image_pixels: 100,
        ..MediaConfig::default()
    });
    let err = r
        .call(json!({ "operation": "convert", "path": "pic.png", "output_path": "x.webp" }))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::ResourceLimitExceeded {
            resource: "image_pixels".into(),
            limit: 100,
            requested: 800
        }
    );
    let r = rig_with(MediaConfig {
        max_file_bytes: 10,
        ..MediaConfig::default()
    });
    let err = r
        .call(json!({ "operation": "convert", "path": "pic.png", "output_path": "x.webp" }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResourceLimitExceeded { ref resource, limit: 10, .. } if resource == "media_file_bytes"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_hook_changes_the_call() {
    let r = rig();
    // A policy hook: every image this tool writes is a small WebP.
    let _handle = r.hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|c| {
            if c.component.name.as_ref() != "image_processor" {
                return Ok(HookResult::Continue);
            }
            let mut params = c.data.clone();
            params["format"] = json!("webp");
            Ok(HookResult::Modified(params))
        }),
    );
    let out = r
        .call(json!({ "operation": "thumbnail", "path": "pic.png", "max_size": 16, "output_path": "t.png" }))
        .await
        .unwrap();
    assert_eq!(out["format"], "webp");
    assert_eq!(r.open("t.png").0, ImageFormat::WebP);
}
