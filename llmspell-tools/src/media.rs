//! Media tools (category `media`): images, audio and video files under the
//! [`FsSandbox`](crate::FsSandbox) roots.
//!
//! - [`ImageProcessor`] (`image_processor`, `restricted`): information,
//!   resizing, cropping, rotating, flipping, grayscale, format conversion
//!   (PNG, JPEG, WebP, GIF) and thumbnails, in pure Rust;
//! - [`AudioProcessor`] (`audio_processor`, `restricted`): probing any common
//!   audio format, and trimming, down-mixing, resampling and changing the
//!   sample format of WAV files, in pure Rust;
//! - [`VideoProcessor`] (`video_processor`): container metadata of MP4, MOV,
//!   MKV and WebM files in pure Rust (`restricted`), and frame extraction,
//!   thumbnails and transcoding through the host's `ffmpeg` when
//!   [`MediaConfig::ffmpeg`] names it (the tool is then `privileged`).
//!
//! Every file is read and written through the sandbox, and every tool
//! checks sizes before it decodes: file bytes, image pixels and audio or
//! video duration ([`MediaConfig`]), so a small file that declares a huge
//! image or a long recording is refused before memory is spent on it.

mod audio_processor;
mod codec_names;
mod config;
mod container;
mod ffmpeg;
mod files;
mod image_processor;
mod resample;
mod video_processor;
mod wav;

pub use audio_processor::AudioProcessor;
pub use config::MediaConfig;
pub use image_processor::ImageProcessor;
pub use video_processor::VideoProcessor;
