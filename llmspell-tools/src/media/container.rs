//! What a media container holds, read in pure Rust with symphonia: its
//! format, duration, tracks (codec, audio and video parameters) and tags.
//! Only headers and, for frame rates, the first packets are read.

use std::fs::File;
use std::path::Path;

use heck::ToSnakeCase as _;
use llmspell_core::{Error, Result};
use serde_json::{Map, Value, json};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track as SymphoniaTrack};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{MetadataOptions, RawValue, Tag};
use symphonia::core::units::{Duration as Ticks, TimeBase};

use crate::media::codec_names::{audio_codec, subtitle_codec, video_codec};

/// The formats symphonia reads here, as error messages list them.
pub(crate) const READABLE: &str =
    "wav, aiff, flac, ogg (vorbis), mp3, aac (adts), mp4/m4a/mov and mkv/webm";

/// How many packets are read, at most, to find each video track's frame
/// duration.
const FRAME_RATE_PACKETS: usize = 256;

/// One track of a container.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Track {
    pub(crate) id: u32,
    /// `audio`, `video`, `subtitle` or `unknown`.
    pub(crate) kind: &'static str,
    pub(crate) codec: Option<String>,
    pub(crate) sample_rate: Option<u32>,
    pub(crate) channels: Option<usize>,
    pub(crate) bits_per_sample: Option<u32>,
    pub(crate) width: Option<u16>,
    pub(crate) height: Option<u16>,
    pub(crate) frame_rate: Option<f64>,
    pub(crate) duration_seconds: Option<f64>,
    pub(crate) frames: Option<u64>,
    pub(crate) language: Option<String>,
}

/// A container's format, duration, tracks and tags.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Container {
    /// symphonia's short name of the format (`wave`, `flac`, `isomp4`,
    /// `matroska`, ...).
    pub(crate) format: &'static str,
    pub(crate) duration_seconds: Option<f64>,
    pub(crate) tracks: Vec<Track>,
    /// Tags by name: standard tags by their snake-case name (`track_title`,
    /// `artist`), others by their key in the file.
    pub(crate) tags: Map<String, Value>,
}

fn seconds(time_base: Option<TimeBase>, ticks: Option<Ticks>) -> Option<f64> {
    let time = time_base?.calc_duration(ticks?)?;
    Some(time.as_secs_f64())
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl Track {
    fn from_symphonia(t: &SymphoniaTrack) -> Track {
        let mut track = Track {
            id: t.id,
            kind: "unknown",
            codec: None,
            sample_rate: None,
            channels: None,
            bits_per_sample: None,
            width: None,
            height: None,
            frame_rate: None,
            duration_seconds: seconds(t.time_base, t.duration),
            frames: t.num_frames,
            language: t.language.clone(),
        };
        match &t.codec_params {
            Some(CodecParameters::Audio(a)) => {
                track.kind = "audio";
                track.codec = Some(audio_codec(a.codec));
                track.sample_rate = a.sample_rate;
                track.channels = a.channels.as_ref().map(|c| c.count());
                track.bits_per_sample = a.bits_per_sample;
                if track.duration_seconds.is_none()
                    && let (Some(n), Some(rate)) = (t.num_frames, a.sample_rate)
                    && rate > 0
                {
                    track.duration_seconds = Some(n as f64 / f64::from(rate));
                }
            }
            Some(CodecParameters::Video(v)) => {
                track.kind = "video";
                track.codec = Some(video_codec(v.codec));
                track.width = v.width;
                track.height = v.height;
            }
            Some(CodecParameters::Subtitle(s)) => {
                track.kind = "subtitle";
                track.codec = Some(subtitle_codec(s.codec));
            }
            _ => {}
        }
        track
    }

    /// The track as JSON, with only the members that apply to its kind.
    pub(crate) fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("type".into(), json!(self.kind));
        out.insert("codec".into(), json!(self.codec));
        let mut put = |k: &str, v: Value| {
            if !v.is_null() {
                out.insert(k.to_owned(), v);
            }
        };
        put("sample_rate", json!(self.sample_rate));
        put("channels", json!(self.channels));
        put("bits_per_sample", json!(self.bits_per_sample));
        put("width", json!(self.width));
        put("height", json!(self.height));
        put("frame_rate", json!(self.frame_rate.map(round3)));
        put("duration_seconds", json!(self.duration_seconds.map(round3)));
        put("frames", json!(self.frames));
        put("language", json!(self.language));
        Value::Object(out)
    }
}

fn tag_entry(tag: &Tag) -> Option<(String, Value)> {
    let value = match &tag.raw.value {
        RawValue::Binary(_) | RawValue::Flag => return None,
        RawValue::Boolean(b) => json!(b),
        RawValue::Float(f) => json!(f),
        RawValue::SignedInt(i) => json!(i),
        RawValue::UnsignedInt(u) => json!(u),
        other => json!(other.to_string()),
    };
    let name = match &tag.std {
        // The standard tag's variant name (`TrackTitle("…")` → `track_title`).
        Some(std) => {
            let debug = format!("{std:?}");
            let variant = debug.split(['(', ' ', '{']).next().unwrap_or(&debug);
            variant.to_snake_case()
        }
        None => tag.raw.key.clone(),
    };
    Some((name, value))
}

/// Maps a symphonia failure on the file shown as `shown`.
fn failure(shown: &str, e: &SymphoniaError) -> Error {
    match e {
        SymphoniaError::Unsupported(what) => Error::invalid_input(
            "path",
            format!(
                "`{shown}` is not in a format that can be read here ({what}); readable formats: \
                 {READABLE}"
            ),
        ),
        SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::invalid_input("path", format!("`{shown}` is truncated: {io}"))
        }
        SymphoniaError::IoError(io) => Error::External {
            service: "filesystem".to_owned(),
            message: format!("cannot read `{shown}`: {io}"),
            retryable: false,
            source: None,
        },
        SymphoniaError::LimitError(what) => Error::invalid_input(
            "path",
            format!("`{shown}` exceeds a safety limit of the reader: {what}"),
        ),
        other => Error::invalid_input("path", format!("`{shown}` is corrupt: {other}")),
    }
}

/// Reads the frame duration of each video track from its first packet
/// (containers store it per frame: MP4's sample table, Matroska's default
/// duration), and sets the frame rate from it.
fn read_frame_rates(reader: &mut dyn FormatReader, tracks: &mut [Track]) {
    let mut missing: Vec<u32> = tracks
        .iter()
        .filter(|t| t.kind == "video")
        .map(|t| t.id)
        .collect();
    let time_bases: Vec<(u32, Option<TimeBase>)> = reader
        .tracks()
        .iter()
        .map(|t| (t.id, t.time_base))
        .collect();
    let mut read = 0;
    while !missing.is_empty() && read < FRAME_RATE_PACKETS {
        let Ok(Some(packet)) = reader.next_packet() else {
            break;
        };
        read += 1;
        let Some(pos) = missing.iter().position(|&id| id == packet.track_id) else {
            continue;
        };
        let tb = time_bases
            .iter()
            .find(|(id, _)| *id == packet.track_id)
            .and_then(|(_, tb)| *tb);
        if let Some(frame) = seconds(tb, Some(packet.dur)).filter(|s| *s > 0.0) {
            if let Some(track) = tracks.iter_mut().find(|t| t.id == packet.track_id) {
                track.frame_rate = Some(1.0 / frame);
            }
            missing.swap_remove(pos);
        }
    }
}

/// Reads the container of `file` (shown in errors as `shown`); with
/// `frame_rates`, also the first packets of the video tracks.
pub(crate) fn read(file: &Path, shown: &str, frame_rates: bool) -> Result<Container> {
    let source = File::open(file).map_err(|e| crate::fs::io_error("read", file, &e))?;
    let stream = MediaSourceStream::new(Box::new(source), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = file.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut reader = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| failure(shown, &e))?;
    let format = reader.format_info().short_name;
    let mut tracks: Vec<Track> = reader.tracks().iter().map(Track::from_symphonia).collect();
    let info = reader.media_info();
    let duration_seconds = seconds(info.time_base, info.duration).or_else(|| {
        tracks
            .iter()
            .filter_map(|t| t.duration_seconds)
            .reduce(f64::max)
    });
    let mut tags = Map::new();
    {
        let mut metadata = reader.metadata();
        loop {
            if let Some(revision) = metadata.current() {
                tags.extend(revision.media.tags.iter().filter_map(tag_entry));
            }
            if metadata.pop().is_none() {
                break;
            }
        }
    }
    if frame_rates {
        read_frame_rates(reader.as_mut(), &mut tracks);
    }
    Ok(Container {
        format,
        duration_seconds,
        tracks,
        tags,
    })
}

impl Container {
    /// The duration rounded to milliseconds.
    pub(crate) fn duration_json(&self) -> Value {
        json!(self.duration_seconds.map(round3))
    }

    /// The tracks as JSON.
    pub(crate) fn tracks_json(&self) -> Value {
        Value::Array(self.tracks.iter().map(Track::to_json).collect())
    }
}
