//! `video_processor` through the hooked registry. Container metadata is
//! read in pure Rust from the small MP4, WebM and MOV files kept in
//! `tests/fixtures/media` (made once with ffmpeg), so it is tested without
//! ffmpeg. Frames, thumbnails and transcoding run the host's ffmpeg: those
//! tests make their input with ffmpeg and skip (or, under
//! `LLMSPELL_TEST_SERVICES=require`, fail) when it is missing. The outputs
//! are decoded again and their sizes, pixels and tracks checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use llmspell_core::{Error, ExecutionContext, SecurityLevel};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_tools::media::MediaConfig;
use llmspell_tools::{BuiltinToolsConfig, ToolRegistry, builtin_tools};
use serde_json::{Value, json};
use tempfile::TempDir;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/media")
        .join(name)
}

struct Rig {
    dir: TempDir,
    hooks: HookRegistry,
    tools: ToolRegistry,
}

/// A registry over a fresh root holding the fixtures, callers allowed
/// `level`.
fn rig_with(media: MediaConfig, level: SecurityLevel) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    for name in ["clip.mp4", "clip.webm", "clip.mov"] {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
    }
    let hooks = HookRegistry::new();
    let tools = ToolRegistry::builder()
        .runner(GuardedRunner::new(HookExecutor::new(hooks.clone())))
        .allowed_level(level)
        .build();
    tools
        .register_all(builtin_tools(&BuiltinToolsConfig {
            fs_roots: vec![dir.path().to_path_buf()],
            media,
            ..BuiltinToolsConfig::default()
        }))
        .unwrap();
    Rig { dir, hooks, tools }
}

/// With the host's ffmpeg configured and a privileged caller; `None` (the
/// test skips) when ffmpeg is missing.
fn ffmpeg_rig(media: MediaConfig) -> Option<(Rig, PathBuf)> {
    let ffmpeg = llmspell_testkit::program("ffmpeg", "Debian package `ffmpeg`")?;
    let rig = rig_with(
        MediaConfig {
            ffmpeg: Some(ffmpeg.clone()),
            ..media
        },
        SecurityLevel::Privileged,
    );
    Some((rig, ffmpeg))
}

impl Rig {
    async fn call(&self, params: Value) -> Result<Value, Error> {
        self.tools
            .invoke("video_processor", params, &ExecutionContext::native())
            .await
    }

    fn image(&self, name: &str) -> (image::ImageFormat, image::DynamicImage) {
        let bytes = std::fs::read(self.dir.path().join(name)).unwrap();
        (
            image::guess_format(&bytes).unwrap(),
            image::load_from_memory(&bytes).unwrap(),
        )
    }

    /// Makes `name` in the root with ffmpeg: `seconds` of the test pattern
    /// at `size` and 10 frames a second, with a 440 Hz tone when `audio`.
    fn make(
        &self,
        ffmpeg: &Path,
        name: &str,
        seconds: u32,
        size: &str,
        codec: &[&str],
        audio: bool,
    ) {
        let mut cmd = Command::new(ffmpeg);
        cmd.args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("testsrc=duration={seconds}:size={size}:rate=10"));
        if audio {
            cmd.args(["-f", "lavfi", "-i"])
                .arg(format!(
                    "sine=frequency=440:duration={seconds}:sample_rate=8000"
                ))
                .args(["-c:a", "aac", "-ac", "1", "-shortest"]);
        }
        let status = cmd
            .args(codec)
            .arg(self.dir.path().join(name))
            .status()
            .unwrap();
        assert!(status.success(), "ffmpeg could not make {name}");
    }
}

fn field_of(err: &Error) -> &str {
    match err {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn metadata_of_mp4_webm_and_mov_in_pure_rust() {
    let r = rig_with(MediaConfig::default(), SecurityLevel::Restricted);
    let mp4 = r
        .call(json!({ "operation": "metadata", "path": "clip.mp4" }))
        .await
        .unwrap();
    assert_eq!(mp4["format"], "isomp4");
    assert_eq!(mp4["duration_seconds"], 1.0);
    assert_eq!(
        (
            &mp4["video_codec"],
            &mp4["width"],
            &mp4["height"],
            &mp4["frame_rate"]
        ),
        (&json!("h264"), &json!(64), &json!(48), &json!(10.0))
    );
    let tracks = mp4["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 2);
    assert_eq!(tracks[0]["type"], "video");
    assert_eq!(tracks[1]["type"], "audio");
    assert_eq!(tracks[1]["codec"], "aac");
    assert_eq!(tracks[1]["sample_rate"], 8000);
    assert_eq!(tracks[1]["channels"], 1);
    assert_eq!(mp4["tags"]["track_title"], "llmspell clip");
    assert_eq!(
        mp4["bytes"].as_u64().unwrap(),
        std::fs::metadata(fixture("clip.mp4")).unwrap().len()
    );

    let webm = r
        .call(json!({ "operation": "metadata", "path": "clip.webm" }))
        .await
        .unwrap();
    assert_eq!(webm["format"], "matroska");
    assert_eq!(
        (
            &webm["video_codec"],
            &webm["width"],
            &webm["height"],
            &webm["frame_rate"]
        ),
        (&json!("vp9"), &json!(64), &json!(48), &json!(10.0))
    );
    let seconds = webm["duration_seconds"].as_f64().unwrap();
    assert!((0.99..1.05).contains(&seconds), "{seconds}");
    assert_eq!(webm["tracks"][1]["codec"], "opus");

    let mov = r
        .call(json!({ "operation": "metadata", "path": "clip.mov" }))
        .await
        .unwrap();
    assert_eq!(
        (
            &mov["video_codec"],
            &mov["width"],
            &mov["frame_rate"],
            &mov["duration_seconds"]
        ),
        (&json!("mpeg4"), &json!(64), &json!(10.0), &json!(1.0))
    );
}

#[tokio::test]
async fn a_hook_sees_and_redirects_a_metadata_call() {
    let r = rig_with(MediaConfig::default(), SecurityLevel::Restricted);
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let log = seen.clone();
    // A hook that serves `latest.webm` from the newest upload.
    let _handle = r.hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(move |c| {
            if c.component.name.as_ref() != "video_processor" {
                return Ok(HookResult::Continue);
            }
            log.lock().push(c.data["path"].clone());
            if c.data["path"] == "latest.webm" {
                let mut params = c.data.clone();
                params["path"] = json!("clip.webm");
                return Ok(HookResult::Modified(params));
            }
            Ok(HookResult::Continue)
        }),
    );
    let out = r
        .call(json!({ "operation": "metadata", "path": "latest.webm" }))
        .await
        .unwrap();
    assert_eq!(out["path"], "clip.webm");
    assert_eq!(out["video_codec"], "vp9");
    assert_eq!(*seen.lock(), [json!("latest.webm")]);
}

#[tokio::test]
async fn corrupt_and_foreign_files_are_named() {
    let r = rig_with(MediaConfig::default(), SecurityLevel::Restricted);
    let dir = r.dir.path();
    std::fs::write(dir.join("notes.mp4"), "plain text, not a video").unwrap();
    let err = r
        .call(json!({ "operation": "metadata", "path": "notes.mp4" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "path");
    assert!(err.to_string().contains("notes.mp4"), "{err}");
    // The first kilobyte of a real MP4: its box structure breaks off.
    let mp4 = std::fs::read(dir.join("clip.mp4")).unwrap();
    std::fs::write(dir.join("cut.mp4"), &mp4[..1024]).unwrap();
    let err = r
        .call(json!({ "operation": "metadata", "path": "cut.mp4" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "path", "{err}");
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("clip.mp4"), outside.path().join("c.mp4")).unwrap();
    let err = r
        .call(json!({ "operation": "metadata", "path": outside.path().join("c.mp4").to_str().unwrap() }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecurityViolation { .. }), "{err:?}");
}

#[tokio::test]
async fn ffmpeg_operations_are_off_until_configured() {
    let r = rig_with(MediaConfig::default(), SecurityLevel::Restricted);
    assert_eq!(
        r.tools.info("video_processor").unwrap().security_level,
        SecurityLevel::Restricted
    );
    let err = r
        .call(json!({ "operation": "extract_frame", "path": "clip.mp4", "output_path": "f.png" }))
        .await
        .unwrap_err();
    match err {
        Error::SecurityViolation { message } => {
            assert!(
                message.contains("`[media]`") && message.contains("privileged"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!r.dir.path().join("f.png").exists());
}

#[tokio::test]
async fn with_ffmpeg_configured_the_tool_needs_the_privileged_level() {
    let media = MediaConfig {
        ffmpeg: Some("ffmpeg".into()),
        ..MediaConfig::default()
    };
    let r = rig_with(media, SecurityLevel::Restricted);
    assert_eq!(
        r.tools.info("video_processor").unwrap().security_level,
        SecurityLevel::Privileged
    );
    let err = r
        .call(json!({ "operation": "metadata", "path": "clip.mp4" }))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::SecurityViolation { message } if message.contains("needs security level privileged")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_missing_ffmpeg_is_named_with_its_package() {
    for program in ["llmspell-no-such-ffmpeg", "/nonexistent/bin/ffmpeg"] {
        let r = rig_with(
            MediaConfig {
                ffmpeg: Some(program.into()),
                ..MediaConfig::default()
            },
            SecurityLevel::Privileged,
        );
        let err = r
            .call(json!({ "operation": "thumbnail", "path": "clip.mp4", "output_path": "t.png" }))
            .await
            .unwrap_err();
        match &err {
            Error::External {
                service, message, ..
            } => {
                assert_eq!(service, "ffmpeg");
                assert!(
                    message.contains(program) && message.contains("Debian package `ffmpeg`"),
                    "{message}"
                );
            }
            other => panic!("expected the missing program, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn frames_are_extracted_at_the_time_asked() {
    let Some((r, ffmpeg)) = ffmpeg_rig(MediaConfig::default()) else {
        return;
    };
    r.make(
        &ffmpeg,
        "two.mp4",
        2,
        "64x48",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        true,
    );
    let first = r
        .call(
            json!({ "operation": "extract_frame", "path": "two.mp4", "output_path": "first.png" }),
        )
        .await
        .unwrap();
    assert_eq!(
        (first["width"].as_u64(), first["height"].as_u64()),
        (Some(64), Some(48))
    );
    let later = r
        .call(json!({ "operation": "extract_frame", "path": "two.mp4", "at_seconds": 1.5, "output_path": "later.png" }))
        .await
        .unwrap();
    assert_eq!(later["at_seconds"], 1.5);
    let (format, a) = r.image("first.png");
    assert_eq!(format, image::ImageFormat::Png);
    let (_, b) = r.image("later.png");
    assert_eq!((a.width(), a.height()), (64, 48));
    // The test pattern moves and counts frames: the two differ.
    assert_ne!(a.to_rgb8(), b.to_rgb8());

    let small = r
        .call(json!({ "operation": "extract_frame", "path": "two.mp4", "at_seconds": 0.5, "width": 32, "output_path": "small.jpg" }))
        .await
        .unwrap();
    assert_eq!(small["format"], "jpeg");
    let (format, img) = r.image("small.jpg");
    assert_eq!(
        (format, img.width(), img.height()),
        (image::ImageFormat::Jpeg, 32, 24)
    );

    // A file with no video stream.
    let status = Command::new(&ffmpeg)
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("sine=frequency=440:duration=1:sample_rate=8000")
        .args(["-c:a", "aac"])
        .arg(r.dir.path().join("sound.mp4"))
        .status()
        .unwrap();
    assert!(status.success());
    let err = r
        .call(
            json!({ "operation": "extract_frame", "path": "sound.mp4", "output_path": "none.png" }),
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "path");
    assert!(err.to_string().contains("has no video stream"), "{err}");

    let err = r
        .call(json!({ "operation": "extract_frame", "path": "two.mp4", "at_seconds": 5, "output_path": "none.png" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "at_seconds");
    assert!(err.to_string().contains("end of the video (2 s)"), "{err}");
    assert!(!r.dir.path().join("none.png").exists());
}

#[tokio::test]
async fn thumbnails_fit_the_box() {
    let Some((r, _)) = ffmpeg_rig(MediaConfig::default()) else {
        return;
    };
    let out = r
        .call(json!({ "operation": "thumbnail", "path": "clip.webm", "max_size": 32, "output_path": "thumb.webp" }))
        .await
        .unwrap();
    assert_eq!(out["format"], "webp");
    let (format, img) = r.image("thumb.webp");
    assert_eq!(
        (format, img.width(), img.height()),
        (image::ImageFormat::WebP, 32, 24)
    );
}

#[tokio::test]
async fn transcoding_writes_the_container_codecs_and_size_asked() {
    let Some((r, ffmpeg)) = ffmpeg_rig(MediaConfig::default()) else {
        return;
    };
    r.make(
        &ffmpeg,
        "two.mp4",
        2,
        "64x48",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        true,
    );
    let out = r
        .call(json!({ "operation": "transcode", "path": "two.mp4", "output_path": "small.webm", "width": 32 }))
        .await
        .unwrap();
    assert_eq!(
        (&out["container"], &out["video_codec"], &out["audio_codec"]),
        (&json!("webm"), &json!("vp9"), &json!("opus"))
    );
    let meta = r
        .call(json!({ "operation": "metadata", "path": "small.webm" }))
        .await
        .unwrap();
    assert_eq!(
        (&meta["video_codec"], &meta["width"], &meta["height"]),
        (&json!("vp9"), &json!(32), &json!(24))
    );
    assert_eq!(meta["tracks"][1]["codec"], "opus");
    let seconds = meta["duration_seconds"].as_f64().unwrap();
    assert!((1.9..2.2).contains(&seconds), "{seconds}");

    // A cut of one second, video only, in MP4.
    r.call(json!({ "operation": "transcode", "path": "two.mp4", "output_path": "cut.mp4", "start_seconds": 0.5, "duration_seconds": 1, "audio_codec": "none" }))
        .await
        .unwrap();
    let meta = r
        .call(json!({ "operation": "metadata", "path": "cut.mp4" }))
        .await
        .unwrap();
    assert_eq!(meta["tracks"].as_array().unwrap().len(), 1);
    assert_eq!(meta["duration_seconds"], 1.0);

    let out = r
        .call(json!({ "operation": "transcode", "path": "clip.mov", "output_path": "anim.gif", "width": 32 }))
        .await
        .unwrap();
    assert_eq!(out["container"], "gif");
    let (format, img) = r.image("anim.gif");
    assert_eq!(
        (format, img.width(), img.height()),
        (image::ImageFormat::Gif, 32, 24)
    );

    let err = r
        .call(json!({ "operation": "transcode", "path": "two.mp4", "output_path": "x.webm", "video_codec": "h264" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "video_codec");
    assert!(err.to_string().contains("valid: vp9, vp8, copy"), "{err}");
    let err = r
        .call(json!({ "operation": "transcode", "path": "two.mp4", "output_path": "x.mp4", "video_codec": "copy", "width": 32 }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "width");
    let err = r
        .call(json!({ "operation": "transcode", "path": "two.mp4", "output_path": "cut.mp4" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "output_path", "an existing file is kept");
    let err = r
        .call(json!({ "operation": "transcode", "path": "two.mp4", "output_path": "late.mp4", "start_seconds": 3 }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "start_seconds", "{err}");
}

#[tokio::test]
async fn duration_pixel_and_size_limits_apply() {
    let Some((r, ffmpeg)) = ffmpeg_rig(MediaConfig {
        max_video_duration: Duration::from_secs(1),
        max_image_pixels: 1000,
        ..MediaConfig::default()
    }) else {
        return;
    };
    r.make(
        &ffmpeg,
        "two.mp4",
        2,
        "16x16",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        false,
    );
    let err = r
        .call(json!({ "operation": "transcode", "path": "two.mp4", "output_path": "x.mp4" }))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::ResourceLimitExceeded {
            resource: "video_milliseconds".into(),
            limit: 1000,
            requested: 2000
        }
    );
    // Asking for the first second is within the limit.
    r.call(json!({ "operation": "transcode", "path": "two.mp4", "output_path": "x.mp4", "duration_seconds": 1 }))
        .await
        .unwrap();
    // 64 × 48 frames are over 1000 pixels: refused from the container's
    // header. ffmpeg itself refuses frames over twice the limit plus its
    // alignment room, for containers only ffmpeg reads.
    let err = r
        .call(json!({ "operation": "extract_frame", "path": "clip.mp4", "output_path": "f.png" }))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::ResourceLimitExceeded {
            resource: "image_pixels".into(),
            limit: 1000,
            requested: 3072
        }
    );
    r.make(&ffmpeg, "big.avi", 1, "320x240", &["-c:v", "mpeg4"], false);
    let err = r
        .call(json!({ "operation": "extract_frame", "path": "big.avi", "output_path": "f.png" }))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("larger than max_image_pixels (1000"),
        "{err}"
    );
    assert!(!r.dir.path().join("f.png").exists());

    let Some((r, ffmpeg)) = ffmpeg_rig(MediaConfig {
        max_file_bytes: 2000,
        ..MediaConfig::default()
    }) else {
        return;
    };
    r.make(
        &ffmpeg,
        "noise.mp4",
        1,
        "64x48",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        false,
    );
    let err = r
        .call(json!({ "operation": "transcode", "path": "noise.mp4", "output_path": "big.mkv", "video_codec": "mpeg4" }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResourceLimitExceeded { ref resource, limit: 2000, .. } if resource == "media_file_bytes"),
        "{err:?}"
    );
    assert!(!r.dir.path().join("big.mkv").exists());
}

#[tokio::test]
async fn a_slow_ffmpeg_is_killed_at_the_time_limit() {
    use std::os::unix::fs::PermissionsExt;
    let Some(ffmpeg) = llmspell_testkit::program("ffmpeg", "Debian package `ffmpeg`") else {
        return;
    };
    // However fast the machine, this ffmpeg reads its input at the input's
    // own frame rate (`-re`), so a 30 s video takes 30 s to transcode.
    let bin = tempfile::tempdir().unwrap();
    let slow = bin.path().join("slow-ffmpeg");
    std::fs::write(
        &slow,
        format!("#!/bin/sh\nexec '{}' -re \"$@\"\n", ffmpeg.display()),
    )
    .unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = rig_with(
        MediaConfig {
            ffmpeg: Some(slow),
            ffmpeg_timeout: Duration::from_millis(300),
            ..MediaConfig::default()
        },
        SecurityLevel::Privileged,
    );
    r.make(
        &ffmpeg,
        "long.mp4",
        30,
        "320x240",
        &["-c:v", "mpeg4", "-q:v", "31"],
        false,
    );
    let started = Instant::now();
    let err = r
        .call(json!({ "operation": "transcode", "path": "long.mp4", "output_path": "slow.webm" }))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Timeout {
            operation: "ffmpeg".into(),
            after: Duration::from_millis(300)
        }
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // Neither the output nor a temporary file is left.
    let left: Vec<String> = std::fs::read_dir(r.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n == "slow.webm")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_playlist_cannot_lead_ffmpeg_outside_the_roots() {
    let Some((r, _)) = ffmpeg_rig(MediaConfig::default()) else {
        return;
    };
    // An HLS playlist inside the root naming a video outside it.
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.mp4");
    std::fs::copy(fixture("clip.mp4"), &secret).unwrap();
    std::fs::write(
        r.dir.path().join("list.m3u8"),
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:{}\n#EXT-X-ENDLIST\n",
            secret.display()
        ),
    )
    .unwrap();
    let err = r
        .call(
            json!({ "operation": "extract_frame", "path": "list.m3u8", "output_path": "leak.png" }),
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "path", "{err}");
    assert!(
        err.to_string()
            .contains("not a video that can be read here"),
        "{err}"
    );
    assert!(!r.dir.path().join("leak.png").exists());
}

#[tokio::test]
async fn a_hook_changes_the_frame_asked_for() {
    let Some((r, _)) = ffmpeg_rig(MediaConfig::default()) else {
        return;
    };
    let _handle = r.hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|c| {
            if c.component.name.as_ref() == "video_processor"
                && c.data["operation"] == "extract_frame"
            {
                let mut params = c.data.clone();
                params["width"] = json!(16);
                return Ok(HookResult::Modified(params));
            }
            Ok(HookResult::Continue)
        }),
    );
    let out = r
        .call(json!({ "operation": "extract_frame", "path": "clip.mp4", "output_path": "f.png" }))
        .await
        .unwrap();
    assert_eq!(
        (out["width"].as_u64(), out["height"].as_u64()),
        (Some(16), Some(12))
    );
}
