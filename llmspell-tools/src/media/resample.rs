//! Sample-rate conversion with rubato.

use llmspell_core::{Error, Result};
use rubato::audioadapter_buffers::owned::InterleavedOwned;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

/// The largest reduced rate (rate divided by the two rates' greatest common
/// divisor) the FFT resampler is used for; beyond it its transform would be
/// large, and the sinc resampler is used instead.
const MAX_FFT_RATIO_TERM: usize = 4096;

/// Frames per processing chunk.
const CHUNK: usize = 1024;

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Resamples interleaved full-scale samples of `channels` channels from
/// `from` Hz to `to` Hz. The output has `frames × to / from` frames (rounded
/// up), aligned with the input (the resampler's delay is removed).
///
/// Rates whose ratio reduces to small integers (44100 → 48000 is 147 →
/// 160) use rubato's synchronous FFT resampler; others its asynchronous
/// sinc resampler (256-tap, Blackman-Harris window, cubic interpolation).
pub(crate) fn resample(data: &[f64], channels: u16, from: u32, to: u32) -> Result<Vec<f64>> {
    let channels = usize::from(channels);
    let frames = data.len() / channels.max(1);
    if from == to || frames == 0 {
        return Ok(data.to_vec());
    }
    let failed = |e: &dyn std::fmt::Display| {
        Error::execution("tool:audio_processor", format!("resampling failed: {e}"))
    };
    let (from, to) = (from as usize, to as usize);
    let divisor = gcd(from, to);
    let mut resampler: Box<dyn Resampler<f64>> = if from / divisor <= MAX_FFT_RATIO_TERM
        && to / divisor <= MAX_FFT_RATIO_TERM
    {
        Box::new(
            Fft::<f64>::new(from, to, CHUNK, channels, FixedSync::Input).map_err(|e| failed(&e))?,
        )
    } else {
        let parameters = SincInterpolationParameters {
            sinc_len: 256,
            f_cutoff: None,
            interpolation: SincInterpolationType::Cubic,
            oversampling_factor: 128,
            window: WindowFunction::BlackmanHarris2,
        };
        Box::new(
            Async::<f64>::new_sinc(
                to as f64 / from as f64,
                1.0,
                &parameters,
                CHUNK,
                channels,
                FixedAsync::Input,
            )
            .map_err(|e| failed(&e))?,
        )
    };
    let input =
        InterleavedOwned::new_from(data.to_vec(), channels, frames).map_err(|e| failed(&e))?;
    let output = resampler
        .process_all(&input, frames, None)
        .map_err(|e| failed(&e))?;
    Ok(output.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, frames: usize) -> Vec<f64> {
        (0..frames)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() * 0.5)
            .collect()
    }

    fn crossings(data: &[f64]) -> usize {
        data.windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count()
    }

    #[test]
    fn both_resamplers_keep_length_and_pitch() {
        // 44100 → 48000 takes the FFT path; 44100 → 47999 the sinc path.
        for to in [48_000u32, 47_999] {
            let input = sine(1000.0, 44_100, 44_100);
            let out = resample(&input, 1, 44_100, to).unwrap();
            let expected = usize::try_from(to).unwrap();
            assert!(out.len().abs_diff(expected) <= 2, "{to}: {}", out.len());
            // A 1 kHz tone still crosses zero upwards about 1000 times a
            // second at the new rate.
            let c = crossings(&out);
            assert!((995..=1001).contains(&c), "{to}: {c} crossings");
        }
    }
}
