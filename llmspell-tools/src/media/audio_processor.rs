//! `audio_processor`: probing audio files and editing WAV files (pure Rust).

use std::time::Duration;

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::media::config::MediaConfig;
use crate::media::container;
use crate::media::files::MediaFiles;
use crate::media::resample::resample;
use crate::media::wav::{SampleFormat, Wav, encoded_len};
use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;

/// Lowest and highest sample rate `resample` produces.
const RATES: std::ops::RangeInclusive<u32> = 1_000..=384_000;

/// Probes audio files of any common format and edits WAV files, under the
/// [`FsSandbox`] roots.
///
/// - `probe` reads the container's header (WAV, AIFF, FLAC, Ogg Vorbis,
///   MP3, AAC, MP4/M4A, MKV/WebM) with symphonia: format, codec, sample
///   rate, channels, bits per sample, duration and tags.
/// - `trim`, `to_mono`, `resample` and `bit_depth` read a PCM or float WAV
///   file with hound and write a new one to `output_path`. Trimming and
///   down-mixing keep the sample format (trimmed samples are the input's,
///   bit for bit); `resample` uses rubato; `bit_depth` converts between
///   16-bit, 24-bit and 32-bit float samples.
///
/// Limits: the WAV operations refuse files larger than `max_file_bytes`
/// and audio longer than `max_audio_duration` (from the header, before the
/// samples are read), and results larger than `max_file_bytes`
/// (`ResourceLimitExceeded`).
#[derive(Debug, Clone)]
pub struct AudioProcessor {
    metadata: ComponentMetadata,
    files: MediaFiles,
    max_duration: Duration,
}

impl AudioProcessor {
    /// Creates the tool confined to `sandbox`, with the default limits of
    /// [`MediaConfig`].
    pub fn new(sandbox: FsSandbox) -> Self {
        Self::with_config(sandbox, &MediaConfig::default())
    }

    /// Creates the tool confined to `sandbox` with the limits of `config`.
    pub fn with_config(sandbox: FsSandbox, config: &MediaConfig) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "audio_processor",
                "Probes audio files and trims, down-mixes, resamples and re-quantizes WAV files",
            ),
            files: MediaFiles::new(sandbox, config.max_file_bytes),
            max_duration: config.max_audio_duration,
        }
    }
}

/// A WAV sample format `bit_depth` converts to.
#[derive(Deserialize, JsonSchema, Clone, Copy)]
enum Depth {
    /// 16-bit integers.
    #[serde(rename = "16")]
    Int16,
    /// 24-bit integers.
    #[serde(rename = "24")]
    Int24,
    /// 32-bit floats.
    #[serde(rename = "32f")]
    Float32,
}

impl Depth {
    fn format(self) -> SampleFormat {
        match self {
            Depth::Int16 => SampleFormat::Int(16),
            Depth::Int24 => SampleFormat::Int(24),
            Depth::Float32 => SampleFormat::Float32,
        }
    }
}

/// The operations of `audio_processor`. The WAV operations output `{ path,
/// sample_rate, channels, bits_per_sample, sample_format, frames,
/// duration_seconds, bytes }` for the file written.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Reads an audio file's header (any common format): `{ path, format,
    /// codec, sample_rate, channels, bits_per_sample, duration_seconds,
    /// frames, tags, tracks }` for its first audio track.
    Probe {
        /// The audio file.
        path: String,
    },
    /// Keeps the part of a WAV file from `start_seconds` to `end_seconds`.
    Trim {
        /// The WAV file.
        path: String,
        /// Where to write the result, inside the allowed roots.
        output_path: String,
        /// Where the kept part starts, in seconds (default 0).
        #[serde(default)]
        #[schemars(range(min = 0.0))]
        start_seconds: f64,
        /// Where the kept part ends, in seconds (default: the end); after
        /// `start_seconds` and at most the audio's duration.
        end_seconds: Option<f64>,
        /// Replace an existing file at `output_path` (default `false`).
        #[serde(default)]
        overwrite: bool,
    },
    /// Mixes a WAV file's channels down to one (their mean).
    ToMono {
        /// The WAV file.
        path: String,
        /// Where to write the result, inside the allowed roots.
        output_path: String,
        /// Replace an existing file at `output_path` (default `false`).
        #[serde(default)]
        overwrite: bool,
    },
    /// Converts a WAV file to another sample rate (rubato), keeping its
    /// sample format and channels.
    Resample {
        /// The WAV file.
        path: String,
        /// Where to write the result, inside the allowed roots.
        output_path: String,
        /// The new sample rate in Hz, from 1000 to 384000.
        #[schemars(range(min = 1000, max = 384000))]
        sample_rate: u32,
        /// Replace an existing file at `output_path` (default `false`).
        #[serde(default)]
        overwrite: bool,
    },
    /// Converts a WAV file's samples to 16-bit or 24-bit integers or 32-bit
    /// floats (integers rounded to the nearest, out-of-range floats
    /// clipped).
    BitDepth {
        /// The WAV file.
        path: String,
        /// Where to write the result, inside the allowed roots.
        output_path: String,
        /// The new sample format: `16`, `24` or `32f`.
        to: Depth,
        /// Replace an existing file at `output_path` (default `false`).
        #[serde(default)]
        overwrite: bool,
    },
}

/// How `audio_processor` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl AudioProcessor {
    fn probe(&self, path: &str) -> Result<Value> {
        let (file, size) = self.files.input("path", path)?;
        let shown = self.files.display(&file);
        let container = container::read(&file, &shown, false)?;
        let audio = container
            .tracks
            .iter()
            .find(|t| t.kind == "audio")
            .ok_or_else(|| {
                Error::invalid_input(
                    "path",
                    format!(
                        "`{path}` has no audio track ({} container)",
                        container.format
                    ),
                )
            })?;
        Ok(json!({
            "path": shown,
            "format": container.format,
            "codec": audio.codec,
            "sample_rate": audio.sample_rate,
            "channels": audio.channels,
            "bits_per_sample": audio.bits_per_sample,
            "duration_seconds": audio.duration_seconds.or(container.duration_seconds).map(round3),
            "frames": audio.frames,
            "tags": container.tags,
            "tracks": container.tracks_json(),
            "bytes": size,
        }))
    }

    /// Reads the WAV file `path`, checking the output first.
    fn load(&self, path: &str, output_path: &str, overwrite: bool) -> Result<Wav> {
        self.files.output(output_path, overwrite)?;
        let (_, bytes) = self.files.read("path", path)?;
        Wav::read(path, &bytes, self.max_duration)
    }

    fn save(&self, wav: &Wav, output_path: &str, overwrite: bool) -> Result<Value> {
        let format = wav.format();
        self.files
            .cap(encoded_len(wav.frames() as u64, wav.channels, format))?;
        let target = self.files.output(output_path, overwrite)?;
        let bytes = wav.encode()?;
        self.files.write(&target, &bytes, overwrite)?;
        Ok(json!({
            "path": self.files.display(&target),
            "sample_rate": wav.sample_rate,
            "channels": wav.channels,
            "bits_per_sample": format.bits(),
            "sample_format": format.kind(),
            "frames": wav.frames(),
            "duration_seconds": round3(wav.duration_seconds()),
            "bytes": bytes.len(),
        }))
    }

    fn run(&self, op: Operation) -> Result<Value> {
        match op {
            Operation::Probe { path } => self.probe(&path),
            Operation::Trim {
                path,
                output_path,
                start_seconds,
                end_seconds,
                overwrite,
            } => {
                if !start_seconds.is_finite() || start_seconds < 0.0 {
                    return Err(Error::invalid_input(
                        "start_seconds",
                        format!("expected a number of seconds of at least 0, got {start_seconds}"),
                    ));
                }
                if let Some(end) = end_seconds
                    && (!end.is_finite() || end <= start_seconds)
                {
                    return Err(Error::invalid_input(
                        "end_seconds",
                        format!("expected more than start_seconds ({start_seconds}), got {end}"),
                    ));
                }
                let wav = self.load(&path, &output_path, overwrite)?;
                let duration = wav.duration_seconds();
                let frames = wav.frames();
                let rate = f64::from(wav.sample_rate);
                if start_seconds >= duration {
                    return Err(Error::invalid_input(
                        "start_seconds",
                        format!(
                            "{start_seconds} s is not before the end of the audio ({} s)",
                            round3(duration)
                        ),
                    ));
                }
                let end_frame = match end_seconds {
                    Some(end) if end > duration + 0.5 / rate => {
                        return Err(Error::invalid_input(
                            "end_seconds",
                            format!(
                                "{end} s is past the end of the audio ({} s)",
                                round3(duration)
                            ),
                        ));
                    }
                    Some(end) => ((end * rate).round() as usize).min(frames),
                    None => frames,
                };
                let start_frame = ((start_seconds * rate).round() as usize).min(end_frame);
                if start_frame == end_frame {
                    return Err(Error::invalid_input(
                        "end_seconds",
                        "the range holds no whole sample; make it longer",
                    ));
                }
                self.save(&wav.slice(start_frame, end_frame), &output_path, overwrite)
            }
            Operation::ToMono {
                path,
                output_path,
                overwrite,
            } => {
                let wav = self.load(&path, &output_path, overwrite)?;
                self.save(&wav.to_mono(), &output_path, overwrite)
            }
            Operation::Resample {
                path,
                output_path,
                sample_rate,
                overwrite,
            } => {
                if !RATES.contains(&sample_rate) {
                    return Err(Error::invalid_input(
                        "sample_rate",
                        format!(
                            "expected {} to {} Hz, got {sample_rate}",
                            RATES.start(),
                            RATES.end()
                        ),
                    ));
                }
                let wav = self.load(&path, &output_path, overwrite)?;
                // Refuse a result over the size cap before computing it.
                let frames = (wav.frames() as f64 * f64::from(sample_rate)
                    / f64::from(wav.sample_rate))
                .ceil() as u64;
                self.files
                    .cap(encoded_len(frames, wav.channels, wav.format()))?;
                let data = resample(
                    &wav.normalized(),
                    wav.channels,
                    wav.sample_rate,
                    sample_rate,
                )?;
                let out = Wav::from_normalized(sample_rate, wav.channels, &data, wav.format());
                self.save(&out, &output_path, overwrite)
            }
            Operation::BitDepth {
                path,
                output_path,
                to,
                overwrite,
            } => {
                let wav = self.load(&path, &output_path, overwrite)?;
                let out = Wav::from_normalized(
                    wav.sample_rate,
                    wav.channels,
                    &wav.normalized(),
                    to.format(),
                );
                self.save(&out, &output_path, overwrite)
            }
        }
    }
}

#[async_trait]
impl Tool for AudioProcessor {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Media
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Restricted
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "operation": "probe", "path": "voice.wav" }),
            json!({
                "operation": "trim", "path": "voice.wav", "start_seconds": 0.25,
                "end_seconds": 0.75, "output_path": "voice-cut.wav"
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": { "type": "string", "description": "The file probed or written" },
                "format": { "type": "string", "description": "probe: the container (wave, aiff, flac, ogg, mp3, isomp4, matroska, ...)" },
                "codec": { "type": ["string", "null"], "description": "probe: the audio codec (pcm_s16le, flac, mp3, aac, vorbis, ...)" },
                "sample_rate": { "type": ["integer", "null"] },
                "channels": { "type": ["integer", "null"] },
                "bits_per_sample": { "type": ["integer", "null"] },
                "sample_format": { "type": "string", "enum": ["int", "float"], "description": "WAV operations" },
                "duration_seconds": { "type": ["number", "null"] },
                "frames": { "type": ["integer", "null"], "description": "Samples per channel" },
                "tags": { "type": "object", "description": "probe: tags by name (track_title, artist, ...)" },
                "tracks": { "type": "array", "description": "probe: every track of the container", "items": { "type": "object" } },
                "bytes": { "type": "integer", "description": "The file's size" }
            },
            "required": ["path", "sample_rate", "channels", "duration_seconds", "bytes"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let op = PARAMS.read(params)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.run(op))
            .await
            .map_err(|e| Error::execution("tool:audio_processor", format!("task failed: {e}")))?
    }
}
