//! WAV audio in memory: reading with hound (checked against the duration
//! limit first), the sample conversions the WAV operations need, and
//! writing.

use std::io::Cursor;
use std::time::Duration;

use llmspell_core::{Error, Result};

/// How samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SampleFormat {
    /// Signed integers of this many bits (8, 16, 24 or 32).
    Int(u16),
    /// 32-bit IEEE floats, full scale ±1.0.
    Float32,
}

impl SampleFormat {
    pub(crate) fn bits(self) -> u16 {
        match self {
            SampleFormat::Int(bits) => bits,
            SampleFormat::Float32 => 32,
        }
    }

    pub(crate) fn kind(self) -> &'static str {
        match self {
            SampleFormat::Int(_) => "int",
            SampleFormat::Float32 => "float",
        }
    }

    fn bytes(self) -> u64 {
        u64::from(self.bits().div_ceil(8))
    }
}

/// The samples, interleaved, in their stored representation: trimming and
/// down-mixing integers keep them exact.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Samples {
    /// Integer samples and their bit depth.
    Int { bits: u16, data: Vec<i32> },
    /// Float samples.
    Float(Vec<f32>),
}

/// A decoded WAV file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wav {
    pub(crate) sample_rate: u32,
    pub(crate) channels: u16,
    pub(crate) samples: Samples,
}

/// The size of a canonical WAV file holding `frames` frames: the header
/// (at most 68 bytes, for the extensible format) and the samples.
pub(crate) fn encoded_len(frames: u64, channels: u16, format: SampleFormat) -> u64 {
    68u64.saturating_add(
        frames
            .saturating_mul(u64::from(channels))
            .saturating_mul(format.bytes()),
    )
}

fn not_pcm(path: &str, e: &hound::Error) -> Error {
    Error::invalid_input(
        "path",
        format!(
            "`{path}` is not a WAV file these operations can read ({e}); they take PCM integer \
             (8, 16, 24 or 32 bits) or 32-bit float WAV; `probe` reads other formats"
        ),
    )
}

impl Wav {
    /// Decodes `bytes` (from the file `path`), refusing audio longer than
    /// `max_duration` from the header, before any sample is read.
    pub(crate) fn read(path: &str, bytes: &[u8], max_duration: Duration) -> Result<Wav> {
        let mut reader =
            hound::WavReader::new(Cursor::new(bytes)).map_err(|e| not_pcm(path, &e))?;
        let spec = reader.spec();
        if spec.channels == 0 || spec.sample_rate == 0 {
            return Err(Error::invalid_input(
                "path",
                format!("`{path}` declares no channels or a sample rate of 0"),
            ));
        }
        let frames = u64::from(reader.duration());
        let millis = (frames as f64 * 1000.0 / f64::from(spec.sample_rate)).ceil() as u64;
        let limit = u64::try_from(max_duration.as_millis()).unwrap_or(u64::MAX);
        if millis > limit {
            return Err(Error::ResourceLimitExceeded {
                resource: "audio_milliseconds".to_owned(),
                limit,
                requested: millis,
            });
        }
        let format = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, 32) => SampleFormat::Float32,
            (hound::SampleFormat::Int, bits @ 8..=32) => SampleFormat::Int(bits),
            (kind, bits) => {
                return Err(Error::invalid_input(
                    "path",
                    format!(
                        "`{path}` holds {bits}-bit {} samples; the WAV operations take 8 to 32-bit \
                         integers or 32-bit floats",
                        if kind == hound::SampleFormat::Float {
                            "float"
                        } else {
                            "integer"
                        }
                    ),
                ));
            }
        };
        // The header's length is a claim; the file's size bounds what can
        // really be there.
        let claimed = usize::try_from(reader.len()).unwrap_or(usize::MAX);
        let present = bytes.len() / usize::try_from(format.bytes()).unwrap_or(1).max(1);
        let capacity = claimed.min(present);
        let truncated = |e: hound::Error| {
            Error::invalid_input("path", format!("`{path}` is corrupt or truncated: {e}"))
        };
        let samples = match format {
            SampleFormat::Float32 => {
                let mut data = Vec::with_capacity(capacity);
                for s in reader.samples::<f32>() {
                    data.push(s.map_err(truncated)?);
                }
                Samples::Float(data)
            }
            SampleFormat::Int(bits) => {
                let mut data = Vec::with_capacity(capacity);
                for s in reader.samples::<i32>() {
                    data.push(s.map_err(truncated)?);
                }
                Samples::Int { bits, data }
            }
        };
        Ok(Wav {
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            samples,
        })
    }

    pub(crate) fn format(&self) -> SampleFormat {
        match &self.samples {
            Samples::Int { bits, .. } => SampleFormat::Int(*bits),
            Samples::Float(_) => SampleFormat::Float32,
        }
    }

    fn len(&self) -> usize {
        match &self.samples {
            Samples::Int { data, .. } => data.len(),
            Samples::Float(data) => data.len(),
        }
    }

    /// Frames: one sample per channel.
    pub(crate) fn frames(&self) -> usize {
        self.len() / usize::from(self.channels.max(1))
    }

    pub(crate) fn duration_seconds(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }

    /// Frames `from..to`.
    pub(crate) fn slice(&self, from: usize, to: usize) -> Wav {
        let c = usize::from(self.channels);
        let (a, b) = (from * c, to * c);
        let samples = match &self.samples {
            Samples::Int { bits, data } => Samples::Int {
                bits: *bits,
                data: data[a..b].to_vec(),
            },
            Samples::Float(data) => Samples::Float(data[a..b].to_vec()),
        };
        Wav { samples, ..*self }
    }

    /// The mean of the channels of each frame, in the same sample format
    /// (integers rounded to the nearest).
    pub(crate) fn to_mono(&self) -> Wav {
        let c = usize::from(self.channels.max(1));
        let samples = match &self.samples {
            Samples::Int { bits, data } => Samples::Int {
                bits: *bits,
                data: data
                    .chunks_exact(c)
                    .map(|frame| {
                        let sum: i64 = frame.iter().map(|&s| i64::from(s)).sum();
                        (sum as f64 / c as f64).round() as i32
                    })
                    .collect(),
            },
            Samples::Float(data) => Samples::Float(
                data.chunks_exact(c)
                    .map(|frame| {
                        let sum: f64 = frame.iter().map(|&s| f64::from(s)).sum();
                        (sum / c as f64) as f32
                    })
                    .collect(),
            ),
        };
        Wav {
            channels: 1,
            samples,
            ..*self
        }
    }

    /// The samples as floats at full scale ±1.0 (integers divided by
    /// 2^(bits-1)), interleaved.
    pub(crate) fn normalized(&self) -> Vec<f64> {
        match &self.samples {
            Samples::Int { bits, data } => {
                let scale = f64::from(1u32 << (bits - 1));
                data.iter().map(|&s| f64::from(s) / scale).collect()
            }
            Samples::Float(data) => data.iter().map(|&s| f64::from(s)).collect(),
        }
    }

    /// Builds a WAV from full-scale floats in `format`: integers are
    /// rounded to the nearest and clipped to their range.
    pub(crate) fn from_normalized(
        sample_rate: u32,
        channels: u16,
        data: &[f64],
        format: SampleFormat,
    ) -> Wav {
        let samples = match format {
            SampleFormat::Int(bits) => {
                let scale = f64::from(1u32 << (bits - 1));
                let (min, max) = (-scale, scale - 1.0);
                Samples::Int {
                    bits,
                    data: data
                        .iter()
                        .map(|&v| (v * scale).round().clamp(min, max) as i32)
                        .collect(),
                }
            }
            SampleFormat::Float32 => Samples::Float(data.iter().map(|&v| v as f32).collect()),
        };
        Wav {
            sample_rate,
            channels,
            samples,
        }
    }

    /// The WAV file's bytes.
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let format = self.format();
        let spec = hound::WavSpec {
            channels: self.channels,
            sample_rate: self.sample_rate,
            bits_per_sample: format.bits(),
            sample_format: match format {
                SampleFormat::Int(_) => hound::SampleFormat::Int,
                SampleFormat::Float32 => hound::SampleFormat::Float,
            },
        };
        let failed = |e: hound::Error| {
            Error::execution(
                "tool:audio_processor",
                format!("cannot write the WAV data: {e}"),
            )
        };
        let mut out = Cursor::new(Vec::new());
        {
            let mut writer = hound::WavWriter::new(&mut out, spec).map_err(failed)?;
            match &self.samples {
                Samples::Int { data, .. } => {
                    for &s in data {
                        writer.write_sample(s).map_err(failed)?;
                    }
                }
                Samples::Float(data) => {
                    for &s in data {
                        writer.write_sample(s).map_err(failed)?;
                    }
                }
            }
            writer.finalize().map_err(failed)?;
        }
        Ok(out.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(bits: u16, data: Vec<i32>, channels: u16) -> Wav {
        Wav {
            sample_rate: 8000,
            channels,
            samples: Samples::Int { bits, data },
        }
    }

    #[test]
    fn integers_survive_a_round_trip_through_the_file_format() {
        for bits in [8u16, 16, 24, 32] {
            let max = i32::try_from((1i64 << (bits - 1)) - 1).unwrap();
            let original = wav(bits, vec![0, 1, -1, max, -max - 1, max / 3], 2);
            let bytes = original.encode().unwrap();
            let back = Wav::read("x.wav", &bytes, Duration::from_secs(1)).unwrap();
            assert_eq!(back, original, "{bits} bits");
        }
    }

    #[test]
    fn bit_depth_changes_scale_and_clip() {
        let w = wav(
            16,
            vec![i32::from(i16::MAX), i32::from(i16::MIN), 256, -3],
            1,
        );
        let up = Wav::from_normalized(8000, 1, &w.normalized(), SampleFormat::Int(24));
        assert_eq!(
            up.samples,
            Samples::Int {
                bits: 24,
                data: vec![32767 << 8, -32768 << 8, 256 << 8, -3 << 8]
            }
        );
        let float = Wav::from_normalized(8000, 1, &w.normalized(), SampleFormat::Float32);
        let Samples::Float(f) = &float.samples else {
            panic!("float expected")
        };
        assert_eq!(f[1], -1.0);
        let clipped = Wav::from_normalized(8000, 1, &[1.5, -2.0], SampleFormat::Int(16));
        assert_eq!(
            clipped.samples,
            Samples::Int {
                bits: 16,
                data: vec![32767, -32768]
            }
        );
    }

    #[test]
    fn the_duration_limit_is_checked_from_the_header() {
        let w = wav(16, vec![0; 16000], 1);
        let bytes = w.encode().unwrap();
        let err = Wav::read("x.wav", &bytes, Duration::from_secs(1)).unwrap_err();
        assert!(
            matches!(err, Error::ResourceLimitExceeded { ref resource, limit: 1000, requested: 2000 } if resource == "audio_milliseconds"),
            "{err}"
        );
    }
}
