//! `video_processor`: container metadata in pure Rust; frames, thumbnails
//! and transcoding through the configured `ffmpeg`.

use std::ffi::OsString;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use image::{ImageFormat, ImageReader, Limits};
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::media::config::MediaConfig;
use crate::media::container::{self, Container};
use crate::media::ffmpeg::{DEMUXERS, Ffmpeg, Run};
use crate::media::files::{MediaFiles, extension};
use crate::media::image_processor::{Format as ImageFileFormat, encode};
use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;

/// Reads video containers in pure Rust and, when an `ffmpeg` program is
/// configured, extracts frames, makes thumbnails and transcodes, under the
/// [`FsSandbox`] roots.
///
/// - `metadata` (pure Rust, symphonia): the container's format, duration,
///   tags and tracks (codec; width, height and frame rate of video tracks;
///   sample rate and channels of audio tracks) for MP4, MOV, MKV and WebM.
/// - `extract_frame`, `thumbnail` and `transcode` run the configured
///   `ffmpeg` ([`MediaConfig::ffmpeg`]) without a shell, with an empty
///   environment and the configured time limit; it may read only video
///   containers through plain files (no playlists, concat lists or network
///   protocols), decodes frames of at most `max_image_pixels`, and writes at
///   most `max_file_bytes` and `max_video_duration`. Without a configured
///   program these operations are refused; with one, the tool's level is
///   `privileged`, like `process_executor`.
#[derive(Debug, Clone)]
pub struct VideoProcessor {
    metadata: ComponentMetadata,
    files: MediaFiles,
    max_pixels: u64,
    max_duration: Duration,
    ffmpeg: Option<Ffmpeg>,
}

impl VideoProcessor {
    /// Creates the tool confined to `sandbox`, with the default limits of
    /// [`MediaConfig`] and no `ffmpeg`.
    pub fn new(sandbox: FsSandbox) -> Self {
        Self::with_config(sandbox, &MediaConfig::default())
    }

    /// Creates the tool confined to `sandbox` with the limits and `ffmpeg`
    /// of `config`.
    pub fn with_config(sandbox: FsSandbox, config: &MediaConfig) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "video_processor",
                "Reads video container metadata; extracts frames, thumbnails and transcodes with ffmpeg",
            ),
            files: MediaFiles::new(sandbox, config.max_file_bytes),
            max_pixels: config.max_image_pixels,
            max_duration: config.max_video_duration,
            ffmpeg: config
                .ffmpeg
                .clone()
                .map(|program| Ffmpeg::new(program, config.ffmpeg_timeout)),
        }
    }
}

/// A container `transcode` writes.
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum OutputContainer {
    Mp4,
    Mov,
    Mkv,
    Webm,
    Gif,
}

impl OutputContainer {
    fn name(self) -> &'static str {
        match self {
            OutputContainer::Mp4 => "mp4",
            OutputContainer::Mov => "mov",
            OutputContainer::Mkv => "mkv",
            OutputContainer::Webm => "webm",
            OutputContainer::Gif => "gif",
        }
    }

    fn muxer(self) -> &'static str {
        match self {
            OutputContainer::Mkv => "matroska",
            other => other.name(),
        }
    }

    fn from_extension(path: &str) -> Option<Self> {
        match extension(path)?.as_str() {
            "mp4" | "m4v" => Some(OutputContainer::Mp4),
            "mov" => Some(OutputContainer::Mov),
            "mkv" => Some(OutputContainer::Mkv),
            "webm" => Some(OutputContainer::Webm),
            "gif" => Some(OutputContainer::Gif),
            _ => None,
        }
    }

    fn default_codecs(self) -> (VideoCodec, AudioCodec) {
        match self {
            OutputContainer::Webm => (VideoCodec::Vp9, AudioCodec::Opus),
            _ => (VideoCodec::H264, AudioCodec::Aac),
        }
    }

    fn video_codecs(self) -> &'static [VideoCodec] {
        match self {
            OutputContainer::Mp4 | OutputContainer::Mov => &[
                VideoCodec::H264,
                VideoCodec::Mpeg4,
                VideoCodec::Vp9,
                VideoCodec::Copy,
            ],
            OutputContainer::Mkv => &[
                VideoCodec::H264,
                VideoCodec::Vp9,
                VideoCodec::Vp8,
                VideoCodec::Mpeg4,
                VideoCodec::Copy,
            ],
            OutputContainer::Webm => &[VideoCodec::Vp9, VideoCodec::Vp8, VideoCodec::Copy],
            OutputContainer::Gif => &[],
        }
    }

    fn audio_codecs(self) -> &'static [AudioCodec] {
        match self {
            OutputContainer::Mp4 => &[
                AudioCodec::Aac,
                AudioCodec::Mp3,
                AudioCodec::Opus,
                AudioCodec::Copy,
                AudioCodec::None,
            ],
            OutputContainer::Mov => &[
                AudioCodec::Aac,
                AudioCodec::Mp3,
                AudioCodec::Copy,
                AudioCodec::None,
            ],
            OutputContainer::Mkv => &[
                AudioCodec::Aac,
                AudioCodec::Opus,
                AudioCodec::Vorbis,
                AudioCodec::Mp3,
                AudioCodec::Copy,
                AudioCodec::None,
            ],
            OutputContainer::Webm => &[
                AudioCodec::Opus,
                AudioCodec::Vorbis,
                AudioCodec::Copy,
                AudioCodec::None,
            ],
            OutputContainer::Gif => &[AudioCodec::None],
        }
    }
}

/// A video codec `transcode` encodes with.
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum VideoCodec {
    H264,
    Vp9,
    Vp8,
    Mpeg4,
    Copy,
}

impl VideoCodec {
    fn name(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::Vp9 => "vp9",
            VideoCodec::Vp8 => "vp8",
            VideoCodec::Mpeg4 => "mpeg4",
            VideoCodec::Copy => "copy",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            VideoCodec::H264 => &[
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            ],
            VideoCodec::Vp9 => &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
            ],
            VideoCodec::Vp8 => &["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"],
            VideoCodec::Mpeg4 => &["-c:v", "mpeg4", "-q:v", "5"],
            VideoCodec::Copy => &["-c:v", "copy"],
        }
    }
}

/// An audio codec `transcode` encodes with (`none` drops the audio).
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum AudioCodec {
    Aac,
    Opus,
    Vorbis,
    Mp3,
    Copy,
    None,
}

impl AudioCodec {
    fn name(self) -> &'static str {
        match self {
            AudioCodec::Aac => "aac",
            AudioCodec::Opus => "opus",
            AudioCodec::Vorbis => "vorbis",
            AudioCodec::Mp3 => "mp3",
            AudioCodec::Copy => "copy",
            AudioCodec::None => "none",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            AudioCodec::Aac => &["-c:a", "aac"],
            AudioCodec::Opus => &["-c:a", "libopus"],
            AudioCodec::Vorbis => &["-c:a", "libvorbis"],
            AudioCodec::Mp3 => &["-c:a", "libmp3lame"],
            AudioCodec::Copy => &["-c:a", "copy"],
            AudioCodec::None => &["-an"],
        }
    }
}

fn default_thumbnail_size() -> u32 {
    256
}

/// The operations of `video_processor`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Reads the container (pure Rust): `{ path, format, duration_seconds,
    /// width, height, frame_rate, video_codec, tracks, tags, bytes }`; the
    /// top-level video members are those of the first video track.
    Metadata {
        /// The video file (MP4, MOV, MKV or WebM).
        path: String,
    },
    /// Writes the frame shown at `at_seconds` as an image (runs ffmpeg):
    /// `{ path, format, width, height, at_seconds, bytes }`.
    ExtractFrame {
        /// The video file.
        path: String,
        /// Where to write the image, inside the allowed roots; its extension
        /// gives the format unless `format` is set.
        output_path: String,
        /// The time of the frame in seconds from the start (default 0).
        #[serde(default)]
        #[schemars(range(min = 0.0))]
        at_seconds: f64,
        /// Scale the frame to this width in pixels, keeping the aspect ratio
        /// (default: the video's size).
        #[schemars(range(min = 1, max = 8192))]
        width: Option<u32>,
        /// The image format: `png`, `jpeg`, `webp` or `gif` (default: from
        /// `output_path`'s extension, else `png`).
        format: Option<ImageFileFormat>,
        /// Replace an existing file at `output_path` (default `false`).
        #[serde(default)]
        overwrite: bool,
    },
    /// Writes a representative frame (ffmpeg's `thumbnail` filter picks one
    /// from the first 100 frames), scaled to fit `max_size` × `max_size`
    /// (runs ffmpeg): `{ path, format, width, height, bytes }`.
    Thumbnail {
        /// The video file.
        path: String,
        /// Where to write the image, inside the allowed roots.
        output_path: String,
        /// The largest width and height in pixels, from 1 to 1024 (default
        /// 256).
        #[serde(default = "default_thumbnail_size")]
        #[schemars(range(min = 1, max = 1024))]
        max_size: u32,
        /// The image format: `png`, `jpeg`, `webp` or `gif` (default: from
        /// `output_path`'s extension, else `png`).
        format: Option<ImageFileFormat>,
        /// Replace an existing file at `output_path` (default `false`).
        #[serde(default)]
        overwrite: bool,
    },
    /// Converts the video to another container and codecs, optionally
    /// scaled and cut (runs ffmpeg): `{ path, container, video_codec,
    /// audio_codec, bytes, duration_seconds, tracks }`.
    Transcode {
        /// The video file.
        path: String,
        /// Where to write the result, inside the allowed roots.
        output_path: String,
        /// `mp4`, `mov`, `mkv`, `webm` or `gif` (default: from
        /// `output_path`'s extension).
        container: Option<OutputContainer>,
        /// `h264`, `vp9`, `vp8`, `mpeg4` or `copy` (default: `vp9` for
        /// WebM, `h264` otherwise; GIF takes none).
        video_codec: Option<VideoCodec>,
        /// `aac`, `opus`, `vorbis`, `mp3`, `copy` or `none` to drop the
        /// audio (default: `opus` for WebM, `aac` otherwise, `none` for GIF).
        audio_codec: Option<AudioCodec>,
        /// Scale to this width in pixels (with `height` left out, the
        /// height keeps the aspect ratio).
        #[schemars(range(min = 2, max = 8192))]
        width: Option<u32>,
        /// Scale to this height in pixels (with `width` left out, the width
        /// keeps the aspect ratio).
        #[schemars(range(min = 2, max = 8192))]
        height: Option<u32>,
        /// Start this many seconds into the input (default 0).
        #[serde(default)]
        #[schemars(range(min = 0.0))]
        start_seconds: f64,
        /// Keep at most this many seconds (default: to the end; at most the
        /// configured `max_video_duration`).
        duration_seconds: Option<f64>,
        /// Replace an existing file at `output_path` (default `false`).
        #[serde(default)]
        overwrite: bool,
    },
}

/// How `video_processor` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// `file:` and the path: ffmpeg reads it as a plain file whatever it
/// contains.
fn file_url(path: &Path) -> OsString {
    let mut url = OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// The last lines of ffmpeg's error output, for messages.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines.len().saturating_sub(4);
    let text = lines[start..].join(" | ");
    if text.is_empty() {
        "no error output".to_owned()
    } else {
        text
    }
}

impl VideoProcessor {
    /// The configured ffmpeg, or the refusal naming the setting.
    fn ffmpeg(&self, operation: &str) -> Result<&Ffmpeg> {
        self.ffmpeg.as_ref().ok_or_else(|| Error::SecurityViolation {
            message: format!(
                "`{operation}` runs ffmpeg, which is not enabled: set `ffmpeg` in the `[media]` \
                 section of llmspell.toml (`MediaConfig::ffmpeg`); video_processor then needs the \
                 privileged level"
            ),
        })
    }

    /// The container of `file`, when the pure-Rust reader knows its format.
    async fn container(&self, file: &Path) -> Option<Container> {
        let file = file.to_path_buf();
        tokio::task::spawn_blocking(move || container::read(&file, "", true).ok())
            .await
            .ok()
            .flatten()
    }

    /// Refuses a video whose frames are larger than the pixel limit.
    fn check_frames(&self, known: Option<&Container>) -> Result<()> {
        let Some(c) = known else { return Ok(()) };
        for t in c.tracks.iter().filter(|t| t.kind == "video") {
            if let (Some(w), Some(h)) = (t.width, t.height) {
                let n = u64::from(w) * u64::from(h);
                if n > self.max_pixels {
                    return Err(Error::ResourceLimitExceeded {
                        resource: "image_pixels".to_owned(),
                        limit: self.max_pixels,
                        requested: n,
                    });
                }
            }
        }
        Ok(())
    }

    /// The arguments before the output: quiet, the input restricted to
    /// plain files and video demuxers, frames capped at the pixel limit.
    fn input_args(&self, input: &Path, seek: f64) -> Vec<OsString> {
        let mut args = os(&[
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-protocol_whitelist",
            "file",
            "-format_whitelist",
            DEMUXERS,
            "-max_pixels",
        ]);
        // Decoders check their aligned frame size (padded to 32 pixels and
        // more), so ffmpeg's own check gets room for that; the header check
        // in `check_frames` applies the limit exactly.
        let backstop = self.max_pixels.saturating_mul(2).saturating_add(1 << 16);
        args.push(backstop.min(i32::MAX as u64).to_string().into());
        if seek > 0.0 {
            args.push("-ss".into());
            args.push(format!("{seek:.3}").into());
        }
        args.push("-i".into());
        args.push(file_url(input));
        args
    }

    /// Maps a failed run on the input shown as `shown` to an error.
    fn failed(&self, shown: &str, run: &Run) -> Error {
        let stderr = &run.stderr;
        if stderr.contains("max pixel count") {
            return Error::External {
                service: "ffmpeg".to_owned(),
                message: format!(
                    "`{shown}` has frames larger than max_image_pixels ({}, with room for the \
                     decoder's alignment): {}",
                    self.max_pixels,
                    tail(stderr)
                ),
                retryable: false,
                source: None,
            };
        }
        if stderr.contains("matches no streams") {
            return Error::invalid_input(
                "path",
                format!("`{shown}` has no video stream: {}", tail(stderr)),
            );
        }
        let unreadable = [
            "Invalid data found when processing input",
            "moov atom not found",
            "not on whitelist",
            "could not find codec parameters",
            "does not contain any stream",
            "Output file does not contain any stream",
        ];
        if unreadable.iter().any(|m| stderr.contains(m)) {
            return Error::invalid_input(
                "path",
                format!(
                    "`{shown}` is not a video that can be read here (a corrupt file, or not one of \
                     the containers {DEMUXERS}): {}",
                    tail(stderr)
                ),
            );
        }
        Error::External {
            service: "ffmpeg".to_owned(),
            message: format!("ffmpeg failed on `{shown}`: {}", tail(stderr)),
            retryable: false,
            source: None,
        }
    }

    /// The input file, refused when it is not a file.
    fn input(&self, path: &str) -> Result<(PathBuf, String, u64)> {
        let (file, size) = self.files.input("path", path)?;
        let shown = self.files.display(&file);
        Ok((file, shown, size))
    }

    fn metadata_of(&self, path: &str) -> Result<Value> {
        let (file, shown, size) = self.input(path)?;
        let c = container::read(&file, &shown, true)?;
        let video = c.tracks.iter().find(|t| t.kind == "video");
        Ok(json!({
            "path": shown,
            "format": c.format,
            "duration_seconds": c.duration_json(),
            "width": video.and_then(|v| v.width),
            "height": video.and_then(|v| v.height),
            "frame_rate": video.and_then(|v| v.frame_rate).map(round3),
            "video_codec": video.and_then(|v| v.codec.clone()),
            "tracks": c.tracks_json(),
            "tags": c.tags,
            "bytes": size,
        }))
    }

    /// Decodes the PNG frame ffmpeg wrote and saves it as `format`.
    fn save_frame(
        &self,
        png: &[u8],
        output_path: &str,
        format: Option<ImageFileFormat>,
        overwrite: bool,
    ) -> Result<Value> {
        let mut reader = ImageReader::with_format(Cursor::new(png), ImageFormat::Png);
        let mut limits = Limits::default();
        limits.max_alloc = Some(self.max_pixels.saturating_mul(32).max(1 << 20));
        reader.limits(limits);
        let image = reader.decode().map_err(|e| Error::External {
            service: "ffmpeg".to_owned(),
            message: format!("ffmpeg wrote an unreadable frame: {e}"),
            retryable: false,
            source: None,
        })?;
        let format = format
            .or_else(|| ImageFileFormat::from_extension(output_path))
            .unwrap_or(ImageFileFormat::Png);
        let bytes = encode(&image, format, 90)?;
        let target = self.files.output(output_path, overwrite)?;
        self.files.write(&target, &bytes, overwrite)?;
        Ok(json!({
            "path": self.files.display(&target),
            "format": format.name(),
            "width": image.width(),
            "height": image.height(),
            "bytes": bytes.len(),
        }))
    }

    /// Runs ffmpeg to write one frame as PNG to its standard output.
    async fn one_frame(
        &self,
        op: &str,
        file: &Path,
        shown: &str,
        seek: f64,
        filter: Option<String>,
    ) -> Result<Vec<u8>> {
        let ffmpeg = self.ffmpeg(op)?;
        let mut args = self.input_args(file, seek);
        args.extend(os(&["-map", "0:v:0", "-frames:v", "1"]));
        if let Some(f) = filter {
            args.push("-vf".into());
            args.push(f.into());
        }
        args.extend(os(&["-f", "image2pipe", "-c:v", "png", "pipe:1"]));
        let cap = usize::try_from(self.files.max_bytes()).unwrap_or(usize::MAX);
        let run = ffmpeg.run(&args, cap).await?;
        if !run.success {
            return Err(self.failed(shown, &run));
        }
        if run.stdout_truncated {
            return Err(Error::ResourceLimitExceeded {
                resource: "media_file_bytes".to_owned(),
                limit: self.files.max_bytes(),
                requested: self.files.max_bytes().saturating_add(1),
            });
        }
        Ok(run.stdout)
    }

    async fn extract_frame(
        &self,
        path: &str,
        output_path: &str,
        at: f64,
        width: Option<u32>,
        format: Option<ImageFileFormat>,
        overwrite: bool,
    ) -> Result<Value> {
        self.ffmpeg("extract_frame")?;
        if !at.is_finite() || at < 0.0 {
            return Err(Error::invalid_input(
                "at_seconds",
                format!("expected a number of seconds of at least 0, got {at}"),
            ));
        }
        if let Some(w) = width
            && !(1..=8192).contains(&w)
        {
            return Err(Error::invalid_input(
                "width",
                format!("expected 1 to 8192 pixels, got {w}"),
            ));
        }
        self.files.output(output_path, overwrite)?;
        let (file, shown, _) = self.input(path)?;
        let known = self.container(&file).await;
        self.check_frames(known.as_ref())?;
        let duration = known.as_ref().and_then(|c| c.duration_seconds);
        if let Some(d) = duration
            && at >= d
        {
            return Err(Error::invalid_input(
                "at_seconds",
                format!(
                    "{at} s is not before the end of the video ({} s)",
                    round3(d)
                ),
            ));
        }
        let filter = width.map(|w| format!("scale={w}:-2"));
        let png = self
            .one_frame("extract_frame", &file, &shown, at, filter)
            .await?;
        if png.is_empty() {
            return Err(Error::invalid_input(
                "at_seconds",
                match duration {
                    Some(d) => format!("no frame at {at} s (the video is {} s long)", round3(d)),
                    None => format!("no frame at {at} s: past the end of the video"),
                },
            ));
        }
        let mut out = self.save_frame(&png, output_path, format, overwrite)?;
        out["at_seconds"] = json!(at);
        Ok(out)
    }

    async fn thumbnail(
        &self,
        path: &str,
        output_path: &str,
        max_size: u32,
        format: Option<ImageFileFormat>,
        overwrite: bool,
    ) -> Result<Value> {
        self.ffmpeg("thumbnail")?;
        if !(1..=1024).contains(&max_size) {
            return Err(Error::invalid_input(
                "max_size",
                format!("expected 1 to 1024 pixels, got {max_size}"),
            ));
        }
        self.files.output(output_path, overwrite)?;
        let (file, shown, _) = self.input(path)?;
        let known = self.container(&file).await;
        self.check_frames(known.as_ref())?;
        let filter =
            format!("thumbnail,scale={max_size}:{max_size}:force_original_aspect_ratio=decrease");
        let png = self
            .one_frame("thumbnail", &file, &shown, 0.0, Some(filter))
            .await?;
        if png.is_empty() {
            return Err(Error::invalid_input(
                "path",
                format!("`{shown}` has no video frame"),
            ));
        }
        self.save_frame(&png, output_path, format, overwrite)
    }

    #[allow(clippy::too_many_arguments)]
    async fn transcode(
        &self,
        path: &str,
        output_path: &str,
        container: Option<OutputContainer>,
        video_codec: Option<VideoCodec>,
        audio_codec: Option<AudioCodec>,
        size: (Option<u32>, Option<u32>),
        start: f64,
        duration: Option<f64>,
        overwrite: bool,
    ) -> Result<Value> {
        let ffmpeg = self.ffmpeg("transcode")?;
        let container = container
            .or_else(|| OutputContainer::from_extension(output_path))
            .ok_or_else(|| {
                Error::invalid_input(
                    "container",
                    format!(
                        "cannot tell the container from `{output_path}`'s extension; pass \
                         container: mp4, mov, mkv, webm or gif"
                    ),
                )
            })?;
        let (video, audio) = self.codecs(container, video_codec, audio_codec)?;
        if !start.is_finite() || start < 0.0 {
            return Err(Error::invalid_input(
                "start_seconds",
                format!("expected a number of seconds of at least 0, got {start}"),
            ));
        }
        let max = self.max_duration.as_secs_f64();
        let keep = match duration {
            Some(d) if !d.is_finite() || d <= 0.0 => {
                return Err(Error::invalid_input(
                    "duration_seconds",
                    format!("expected a number of seconds above 0, got {d}"),
                ));
            }
            Some(d) if d > max => return Err(self.too_long(d)),
            Some(d) => d,
            None => max,
        };
        let filter = self.scale_filter(video, size)?;
        let target = self.files.output(output_path, overwrite)?;
        let (file, shown, _) = self.input(path)?;
        let known = self.container(&file).await;
        self.check_frames(known.as_ref())?;
        if let Some(total) = known.as_ref().and_then(|c| c.duration_seconds) {
            if start >= total {
                return Err(Error::invalid_input(
                    "start_seconds",
                    format!(
                        "{start} s is not before the end of the video ({} s)",
                        round3(total)
                    ),
                ));
            }
            if duration.is_none() && total - start > max {
                return Err(self.too_long(total - start));
            }
        }
        let dir = target.parent().unwrap_or_else(|| Path::new("."));
        let temp = tempfile::Builder::new()
            .prefix(".llmspell-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| crate::fs::io_error("create a temporary file in", dir, &e))?
            .into_temp_path();
        let mut args = self.input_args(&file, start);
        args.extend(os(&["-t"]));
        args.push(format!("{keep:.3}").into());
        args.extend(os(&["-map", "0:v:0"]));
        if audio != AudioCodec::None {
            args.extend(os(&["-map", "0:a:0?"]));
        }
        args.extend(os(&["-sn", "-dn"]));
        if container != OutputContainer::Gif {
            args.extend(os(video.args()));
        }
        args.extend(os(audio.args()));
        if let Some(f) = filter {
            args.push("-vf".into());
            args.push(f.into());
        }
        args.extend(os(&["-fs"]));
        args.push(self.files.max_bytes().to_string().into());
        args.extend(os(&["-f", container.muxer(), "-y"]));
        args.push(file_url(&temp));
        let run = ffmpeg.run(&args, 64 * 1024).await?;
        if !run.success {
            return Err(self.failed(&shown, &run));
        }
        let bytes = std::fs::metadata(&temp)
            .map_err(|e| crate::fs::io_error("read", &temp, &e))?
            .len();
        // ffmpeg stops writing once the output passes the `-fs` limit.
        if bytes >= self.files.max_bytes() {
            return Err(Error::ResourceLimitExceeded {
                resource: "media_file_bytes".to_owned(),
                limit: self.files.max_bytes(),
                requested: bytes,
            });
        }
        let persisted = if overwrite {
            temp.persist(&target)
        } else {
            temp.persist_noclobber(&target)
        };
        persisted.map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::invalid_input(
                    "output_path",
                    format!("`{output_path}` already exists; pass overwrite: true to replace it"),
                )
            } else {
                crate::fs::io_error("replace", &target, &e.error)
            }
        })?;
        let written = self.container(&target).await;
        Ok(json!({
            "path": self.files.display(&target),
            "container": container.name(),
            "video_codec": if container == OutputContainer::Gif { "gif" } else { video.name() },
            "audio_codec": audio.name(),
            "bytes": bytes,
            "duration_seconds": written.as_ref().map(Container::duration_json),
            "tracks": written.as_ref().map(Container::tracks_json),
        }))
    }

    /// The refusal of `seconds` of video, over the duration limit.
    fn too_long(&self, seconds: f64) -> Error {
        Error::ResourceLimitExceeded {
            resource: "video_milliseconds".to_owned(),
            limit: u64::try_from(self.max_duration.as_millis()).unwrap_or(u64::MAX),
            requested: (seconds * 1000.0).ceil() as u64,
        }
    }

    /// The codecs of a transcode: the defaults of `container`, or those
    /// asked for if the container holds them.
    fn codecs(
        &self,
        container: OutputContainer,
        video: Option<VideoCodec>,
        audio: Option<AudioCodec>,
    ) -> Result<(VideoCodec, AudioCodec)> {
        let (default_video, default_audio) = container.default_codecs();
        if container == OutputContainer::Gif {
            if let Some(v) = video {
                return Err(Error::invalid_input(
                    "video_codec",
                    format!(
                        "a gif has its own codec; leave video_codec out (got {})",
                        v.name()
                    ),
                ));
            }
            if let Some(a) = audio.filter(|a| *a != AudioCodec::None) {
                return Err(Error::invalid_input(
                    "audio_codec",
                    format!("a gif has no audio (got {})", a.name()),
                ));
            }
            return Ok((default_video, AudioCodec::None));
        }
        let video = video.unwrap_or(default_video);
        let audio = audio.unwrap_or(default_audio);
        let names = |list: &[&str]| list.join(", ");
        if !container.video_codecs().contains(&video) {
            return Err(Error::invalid_input(
                "video_codec",
                format!(
                    "{} cannot hold {}; valid: {}",
                    container.name(),
                    video.name(),
                    names(
                        &container
                            .video_codecs()
                            .iter()
                            .map(|c| c.name())
                            .collect::<Vec<_>>()
                    )
                ),
            ));
        }
        if !container.audio_codecs().contains(&audio) {
            return Err(Error::invalid_input(
                "audio_codec",
                format!(
                    "{} cannot hold {}; valid: {}",
                    container.name(),
                    audio.name(),
                    names(
                        &container
                            .audio_codecs()
                            .iter()
                            .map(|c| c.name())
                            .collect::<Vec<_>>()
                    )
                ),
            ));
        }
        Ok((video, audio))
    }

    /// The scale filter for `width` and `height` (a missing side keeps the
    /// aspect ratio, rounded to an even number as most encoders need).
    fn scale_filter(
        &self,
        video: VideoCodec,
        (width, height): (Option<u32>, Option<u32>),
    ) -> Result<Option<String>> {
        if width.is_none() && height.is_none() {
            return Ok(None);
        }
        if video == VideoCodec::Copy {
            return Err(Error::invalid_input(
                if width.is_some() { "width" } else { "height" },
                "cannot scale while copying the video stream; choose a video_codec",
            ));
        }
        for (field, v) in [("width", width), ("height", height)] {
            if let Some(v) = v
                && (!(2..=8192).contains(&v) || v % 2 != 0)
            {
                return Err(Error::invalid_input(
                    field,
                    format!("expected an even number of pixels from 2 to 8192, got {v}"),
                ));
            }
        }
        if let (Some(w), Some(h)) = (width, height) {
            let n = u64::from(w) * u64::from(h);
            if n > self.max_pixels {
                return Err(Error::ResourceLimitExceeded {
                    resource: "image_pixels".to_owned(),
                    limit: self.max_pixels,
                    requested: n,
                });
            }
        }
        let side = |v: Option<u32>| v.map_or_else(|| "-2".to_owned(), |v| v.to_string());
        Ok(Some(format!("scale={}:{}", side(width), side(height))))
    }

    async fn run(&self, op: Operation) -> Result<Value> {
        match op {
            Operation::Metadata { path } => {
                let this = self.clone();
                tokio::task::spawn_blocking(move || this.metadata_of(&path))
                    .await
                    .map_err(|e| {
                        Error::execution("tool:video_processor", format!("task failed: {e}"))
                    })?
            }
            Operation::ExtractFrame {
                path,
                output_path,
                at_seconds,
                width,
                format,
                overwrite,
            } => {
                self.extract_frame(&path, &output_path, at_seconds, width, format, overwrite)
                    .await
            }
            Operation::Thumbnail {
                path,
                output_path,
                max_size,
                format,
                overwrite,
            } => {
                self.thumbnail(&path, &output_path, max_size, format, overwrite)
                    .await
            }
            Operation::Transcode {
                path,
                output_path,
                container,
                video_codec,
                audio_codec,
                width,
                height,
                start_seconds,
                duration_seconds,
                overwrite,
            } => {
                self.transcode(
                    &path,
                    &output_path,
                    container,
                    video_codec,
                    audio_codec,
                    (width, height),
                    start_seconds,
                    duration_seconds,
                    overwrite,
                )
                .await
            }
        }
    }
}

#[async_trait]
impl Tool for VideoProcessor {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Media
    }

    /// `restricted` while no `ffmpeg` is configured (only `metadata` runs),
    /// `privileged` with one, since the tool then runs a program.
    fn security_level(&self) -> SecurityLevel {
        if self.ffmpeg.is_some() {
            SecurityLevel::Privileged
        } else {
            SecurityLevel::Restricted
        }
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "operation": "metadata", "path": "clip.mp4" }),
            json!({
                "operation": "extract_frame", "path": "clip.mp4", "at_seconds": 0.5,
                "output_path": "frame.png"
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": { "type": "string", "description": "The file read (metadata) or written" },
                "format": { "type": "string", "description": "metadata: the container (isomp4, matroska); frames: the image format" },
                "container": { "type": "string", "description": "transcode: the container written" },
                "duration_seconds": { "type": ["number", "null"] },
                "width": { "type": ["integer", "null"] },
                "height": { "type": ["integer", "null"] },
                "frame_rate": { "type": ["number", "null"], "description": "metadata: frames per second of the first video track" },
                "video_codec": { "type": ["string", "null"] },
                "audio_codec": { "type": "string", "description": "transcode" },
                "at_seconds": { "type": "number", "description": "extract_frame" },
                "tracks": { "type": ["array", "null"], "items": { "type": "object" } },
                "tags": { "type": "object" },
                "bytes": { "type": "integer", "description": "The file's size" }
            },
            "required": ["path", "bytes"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let op = PARAMS.read(params)?;
        self.run(op).await
    }
}
