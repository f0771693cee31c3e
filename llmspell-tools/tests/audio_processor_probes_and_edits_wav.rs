//! `audio_processor` through the hooked registry: `probe` reports what a
//! WAV (and, with ffmpeg present to make them, FLAC, MP3 and Ogg Vorbis)
//! file holds; the WAV operations write files whose sample counts, rates,
//! channels and samples are checked by reading them back; bad files,
//! ranges past the end, paths outside the roots and audio longer than the
//! limit are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::f64::consts::PI;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_tools::media::MediaConfig;
use llmspell_tools::{BuiltinToolsConfig, ToolRegistry, builtin_tools};
use serde_json::{Value, json};
use tempfile::TempDir;

const RATE: u32 = 8000;

/// One second of 16-bit stereo at 8 kHz: a 440 Hz sine on the left, a
/// 1000 Hz one at a third of the level on the right.
fn stereo() -> Vec<i16> {
    (0..RATE)
        .flat_map(|i| {
            let t = f64::from(i) / f64::from(RATE);
            let left = (2.0 * PI * 440.0 * t).sin() * 20_000.0;
            let right = (2.0 * PI * 1000.0 * t).sin() * 7_000.0;
            [left.round() as i16, right.round() as i16]
        })
        .collect()
}

fn write_wav(path: &Path, channels: u16, rate: u32, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// The spec and samples (as i32, or f32 bits for float files) of a WAV file.
fn read_wav(path: &Path) -> (hound::WavSpec, Vec<f64>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let samples = match spec.sample_format {
        hound::SampleFormat::Int => r.samples::<i32>().map(|s| f64::from(s.unwrap())).collect(),
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| f64::from(s.unwrap())).collect(),
    };
    (spec, samples)
}

/// Upward zero crossings of one channel of interleaved samples.
fn crossings(samples: &[f64], channels: usize, channel: usize) -> usize {
    let ch: Vec<f64> = samples
        .iter()
        .skip(channel)
        .step_by(channels)
        .copied()
        .collect();
    ch.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count()
}

struct Rig {
    dir: TempDir,
    hooks: HookRegistry,
    tools: ToolRegistry,
}

fn rig_with(media: MediaConfig) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    write_wav(&dir.path().join("tone.wav"), 2, RATE, &stereo());
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
            .invoke("audio_processor", params, &ExecutionContext::native())
            .await
    }

    fn read(&self, name: &str) -> (hound::WavSpec, Vec<f64>) {
        read_wav(&self.dir.path().join(name))
    }
}

fn field_of(err: &Error) -> &str {
    match err {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn probe_reports_a_wav_file() {
    let r = rig();
    let out = r
        .call(json!({ "operation": "probe", "path": "tone.wav" }))
        .await
        .unwrap();
    assert_eq!(out["format"], "wave");
    assert_eq!(out["codec"], "pcm_s16le");
    assert_eq!(out["sample_rate"], RATE);
    assert_eq!(out["channels"], 2);
    assert_eq!(out["bits_per_sample"], 16);
    assert_eq!(out["frames"], RATE);
    assert_eq!(out["duration_seconds"], 1.0);
    assert_eq!(out["tracks"].as_array().unwrap().len(), 1);
    assert_eq!(out["bytes"], 44 + 4 * RATE);
}

#[tokio::test]
async fn probe_reads_flac_mp3_and_ogg_made_by_ffmpeg() {
    let Some(ffmpeg) = llmspell_testkit::program("ffmpeg", "Debian package `ffmpeg`") else {
        return;
    };
    let r = rig();
    for (name, args, codec) in [
        ("tone.flac", &["-c:a", "flac"][..], "flac"),
        (
            "tone.mp3",
            &["-c:a", "libmp3lame", "-b:a", "64k"][..],
            "mp3",
        ),
        ("tone.ogg", &["-c:a", "libvorbis"][..], "vorbis"),
    ] {
        let status = Command::new(&ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
            .arg(r.dir.path().join("tone.wav"))
            .args(args)
            .args([
                "-metadata",
                "title=Test Tone",
                "-metadata",
                "artist=llmspell",
            ])
            .arg(r.dir.path().join(name))
            .status()
            .unwrap();
        assert!(status.success(), "ffmpeg made no {name}");
        let out = r
            .call(json!({ "operation": "probe", "path": name }))
            .await
            .unwrap();
        assert_eq!(out["codec"], codec, "{name}: {out}");
        assert_eq!(out["sample_rate"], RATE, "{name}");
        assert_eq!(out["channels"], 2, "{name}");
        let seconds = out["duration_seconds"].as_f64().unwrap();
        assert!((0.95..1.2).contains(&seconds), "{name}: {seconds}");
        assert_eq!(out["tags"]["track_title"], "Test Tone", "{name}: {out}");
        assert_eq!(out["tags"]["artist"], "llmspell", "{name}: {out}");
    }
}

#[tokio::test]
async fn probe_reads_the_audio_of_a_video_container() {
    let r = rig();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media/clip.mp4");
    std::fs::copy(fixture, r.dir.path().join("clip.mp4")).unwrap();
    let out = r
        .call(json!({ "operation": "probe", "path": "clip.mp4" }))
        .await
        .unwrap();
    assert_eq!(out["format"], "isomp4");
    assert_eq!(out["codec"], "aac");
    assert_eq!(out["sample_rate"], 8000);
    assert_eq!(out["channels"], 1);
    assert_eq!(out["tags"]["track_title"], "llmspell clip");
}

#[tokio::test]
async fn trim_keeps_exactly_the_samples_in_range() {
    let r = rig();
    let out = r
        .call(json!({ "operation": "trim", "path": "tone.wav", "start_seconds": 0.25, "end_seconds": 0.75, "output_path": "cut.wav" }))
        .await
        .unwrap();
    assert_eq!(out["frames"], 4000);
    assert_eq!(out["duration_seconds"], 0.5);
    let (spec, samples) = r.read("cut.wav");
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, RATE, 16)
    );
    let original: Vec<f64> = stereo().iter().map(|&s| f64::from(s)).collect();
    assert_eq!(samples, original[2000 * 2..6000 * 2]);

    // Without an end: to the end of the file.
    r.call(json!({ "operation": "trim", "path": "tone.wav", "start_seconds": 0.9, "output_path": "tail.wav" }))
        .await
        .unwrap();
    let (_, tail) = r.read("tail.wav");
    assert_eq!(tail, original[7200 * 2..]);
}

#[tokio::test]
async fn trim_ranges_must_lie_inside_the_audio() {
    let r = rig();
    let err = r
        .call(json!({ "operation": "trim", "path": "tone.wav", "start_seconds": 0.5, "end_seconds": 2.0, "output_path": "x.wav" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "end_seconds");
    assert!(
        err.to_string().contains("past the end of the audio (1 s)"),
        "{err}"
    );
    let err = r
        .call(json!({ "operation": "trim", "path": "tone.wav", "start_seconds": 1.5, "output_path": "x.wav" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "start_seconds");
    let err = r
        .call(json!({ "operation": "trim", "path": "tone.wav", "start_seconds": 0.5, "end_seconds": 0.25, "output_path": "x.wav" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "end_seconds");
    let err = r
        .call(json!({ "operation": "trim", "path": "tone.wav", "start_seconds": -1, "output_path": "x.wav" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "start_seconds", "{err}");
    assert!(!r.dir.path().join("x.wav").exists());
}

#[tokio::test]
async fn to_mono_averages_the_channels() {
    let r = rig();
    let out = r
        .call(json!({ "operation": "to_mono", "path": "tone.wav", "output_path": "mono.wav" }))
        .await
        .unwrap();
    assert_eq!(
        (out["channels"].as_u64(), out["frames"].as_u64()),
        (Some(1), Some(u64::from(RATE)))
    );
    let (spec, samples) = r.read("mono.wav");
    assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
    let expected: Vec<f64> = stereo()
        .chunks(2)
        .map(|f| ((f64::from(f[0]) + f64::from(f[1])) / 2.0).round())
        .collect();
    assert_eq!(samples, expected);
}

#[tokio::test]
async fn resample_changes_the_rate_and_keeps_the_pitch() {
    let r = rig();
    for (rate, name) in [
        (16_000u32, "up.wav"),
        (22_050, "odd.wav"),
        (4_000, "down.wav"),
    ] {
        let out = r
            .call(json!({ "operation": "resample", "path": "tone.wav", "sample_rate": rate, "output_path": name }))
            .await
            .unwrap();
        let (spec, samples) = r.read(name);
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (rate, 2, 16),
            "{name}"
        );
        let frames = samples.len() / 2;
        assert!(
            frames.abs_diff(rate as usize) <= 2,
            "{name}: {frames} frames"
        );
        assert_eq!(out["frames"], frames);
        // Still a 440 Hz tone on the left: 440 upward zero crossings in
        // one second, give or take the edges.
        let left = crossings(&samples, 2, 0);
        assert!((438..=441).contains(&left), "{name}: {left}");
        if rate > 2000 {
            let right = crossings(&samples, 2, 1);
            assert!((998..=1001).contains(&right), "{name}: right {right}");
        }
    }
    let err = r
        .call(json!({ "operation": "resample", "path": "tone.wav", "sample_rate": 500, "output_path": "x.wav" }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

#[tokio::test]
async fn bit_depth_converts_between_16_24_and_32f() {
    let r = rig();
    let original: Vec<f64> = stereo().iter().map(|&s| f64::from(s)).collect();
    let out = r
        .call(json!({ "operation": "bit_depth", "path": "tone.wav", "to": "24", "output_path": "24.wav" }))
        .await
        .unwrap();
    assert_eq!(
        (
            out["bits_per_sample"].as_u64(),
            out["sample_format"].as_str()
        ),
        (Some(24), Some("int"))
    );
    let (spec, s24) = r.read("24.wav");
    assert_eq!(spec.bits_per_sample, 24);
    assert_eq!(s24, original.iter().map(|s| s * 256.0).collect::<Vec<_>>());

    r.call(
        json!({ "operation": "bit_depth", "path": "24.wav", "to": "32f", "output_path": "f.wav" }),
    )
    .await
    .unwrap();
    let (spec, f) = r.read("f.wav");
    assert_eq!(
        (spec.sample_format, spec.bits_per_sample),
        (hound::SampleFormat::Float, 32)
    );
    assert_eq!(f, original.iter().map(|s| s / 32768.0).collect::<Vec<_>>());

    r.call(
        json!({ "operation": "bit_depth", "path": "f.wav", "to": "16", "output_path": "back.wav" }),
    )
    .await
    .unwrap();
    let (spec, back) = r.read("back.wav");
    assert_eq!(
        (spec.sample_format, spec.bits_per_sample),
        (hound::SampleFormat::Int, 16)
    );
    assert_eq!(back, original);

    let err = r
        .call(json!({ "operation": "bit_depth", "path": "tone.wav", "to": "12", "output_path": "x.wav" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "to", "{err}");
}

#[tokio::test]
async fn bad_files_and_paths_are_refused() {
    let r = rig();
    let dir = r.dir.path();
    std::fs::write(dir.join("notes.txt"), "this is not audio at all").unwrap();
    let err = r
        .call(json!({ "operation": "probe", "path": "notes.txt" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "path");
    assert!(
        err.to_string().contains("not in a format that can be read"),
        "{err}"
    );
    let err = r
        .call(json!({ "operation": "to_mono", "path": "notes.txt", "output_path": "m.wav" }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a WAV file"), "{err}");

    // A WAV file cut in the middle of its samples.
    let wav = std::fs::read(dir.join("tone.wav")).unwrap();
    std::fs::write(dir.join("cut.wav"), &wav[..wav.len() / 2 + 1]).unwrap();
    let err = r
        .call(json!({ "operation": "to_mono", "path": "cut.wav", "output_path": "m.wav" }))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "path");
    assert!(err.to_string().contains("corrupt or truncated"), "{err}");
    assert!(!dir.join("m.wav").exists());

    let outside = tempfile::tempdir().unwrap();
    write_wav(&outside.path().join("secret.wav"), 1, RATE, &[0; 8]);
    let secret = outside.path().join("secret.wav");
    let err = r
        .call(json!({ "operation": "probe", "path": secret.to_str().unwrap() }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecurityViolation { .. }), "{err:?}");
    let err = r
        .call(json!({ "operation": "to_mono", "path": "tone.wav", "output_path": "../m.wav" }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecurityViolation { .. }), "{err:?}");
}

#[tokio::test]
async fn configured_limits_reach_the_tool() {
    let r = rig_with(MediaConfig {
        max_audio_duration: Duration::from_millis(500),
        ..MediaConfig::default()
    });
    let err = r
        .call(json!({ "operation": "to_mono", "path": "tone.wav", "output_path": "m.wav" }))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::ResourceLimitExceeded {
            resource: "audio_milliseconds".into(),
            limit: 500,
            requested: 1000
        }
    );
    // The header is read, not the samples: probing is not limited.
    assert!(
        r.call(json!({ "operation": "probe", "path": "tone.wav" }))
            .await
            .is_ok()
    );

    // A result larger than the file cap is refused before it is computed.
    let r = rig_with(MediaConfig {
        max_file_bytes: 40_000,
        ..MediaConfig::default()
    });
    let err = r
        .call(json!({ "operation": "resample", "path": "tone.wav", "sample_rate": 96_000, "output_path": "big.wav" }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResourceLimitExceeded { ref resource, limit: 40_000, .. } if resource == "media_file_bytes"),
        "{err:?}"
    );
    assert!(!r.dir.path().join("big.wav").exists());
}

#[tokio::test]
async fn a_hook_sees_and_changes_the_call() {
    let r = rig();
    // A policy hook: audio is always written at 16 kHz.
    let _handle = r.hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|c| {
            if c.component.name.as_ref() == "audio_processor" && c.data["operation"] == "resample" {
                let mut params = c.data.clone();
                params["sample_rate"] = json!(16_000);
                return Ok(HookResult::Modified(params));
            }
            Ok(HookResult::Continue)
        }),
    );
    let out = r
        .call(json!({ "operation": "resample", "path": "tone.wav", "sample_rate": 44_100, "output_path": "r.wav" }))
        .await
        .unwrap();
    assert_eq!(out["sample_rate"], 16_000);
    assert_eq!(r.read("r.wav").0.sample_rate, 16_000);
}
