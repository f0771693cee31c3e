//! The settings of the media tools.

use std::path::PathBuf;
use std::time::Duration;

/// What the media tools may read, write and run, and their size limits.
///
/// The limits are checked before a file is decoded (from its header), so a
/// small file that declares an enormous image or a long recording is
/// refused before memory is spent on it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use llmspell_tools::media::MediaConfig;
///
/// let media = MediaConfig {
///     max_image_pixels: 10_000_000,
///     ffmpeg: Some("ffmpeg".into()),
///     ffmpeg_timeout: Duration::from_secs(60),
///     ..MediaConfig::default()
/// };
/// assert_eq!(media.max_file_bytes, 100 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Largest media file read or written, in bytes (default 100 MiB). The
    /// metadata operations (`probe`, `metadata`, `info`) read only headers
    /// and take larger files.
    pub max_file_bytes: u64,
    /// Most pixels (width × height) of an image decoded or produced
    /// (default 40 million, e.g. 8000 × 5000).
    pub max_image_pixels: u64,
    /// Longest audio the WAV operations decode (default 10 minutes).
    pub max_audio_duration: Duration,
    /// Longest video `ffmpeg` writes when transcoding (default 10 minutes).
    pub max_video_duration: Duration,
    /// The `ffmpeg` program `video_processor` runs for frames, thumbnails
    /// and transcoding: a bare name is looked up in the host's `PATH`, a
    /// path is used as it is. `None` (the default) turns those operations
    /// off; with a program set, `video_processor` needs the `privileged`
    /// level.
    pub ffmpeg: Option<PathBuf>,
    /// Time limit of one `ffmpeg` run (default 120 s); the process is
    /// killed when it passes.
    pub ffmpeg_timeout: Duration,
}

/// Default [`MediaConfig::max_file_bytes`].
const DEFAULT_MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;
/// Default [`MediaConfig::max_image_pixels`].
const DEFAULT_MAX_IMAGE_PIXELS: u64 = 40_000_000;

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: DEFAULT_MAX_MEDIA_BYTES,
            max_image_pixels: DEFAULT_MAX_IMAGE_PIXELS,
            max_audio_duration: Duration::from_secs(600),
            max_video_duration: Duration::from_secs(600),
            ffmpeg: None,
            ffmpeg_timeout: Duration::from_secs(120),
        }
    }
}
