//! Short names of the codecs symphonia identifies by number, as ffmpeg and
//! most tools spell them (`h264`, `aac`, `pcm_s16le`).

use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::codecs::audio::well_known as audio;
use symphonia::core::codecs::subtitle::SubtitleCodecId;
use symphonia::core::codecs::subtitle::well_known as subtitle;
use symphonia::core::codecs::video::VideoCodecId;
use symphonia::core::codecs::video::well_known as video;

/// The name of an audio codec, or `unknown (0x…)`.
pub(crate) fn audio_codec(id: AudioCodecId) -> String {
    let known = [
        (audio::CODEC_ID_PCM_S8, "pcm_s8"),
        (audio::CODEC_ID_PCM_U8, "pcm_u8"),
        (audio::CODEC_ID_PCM_S16LE, "pcm_s16le"),
        (audio::CODEC_ID_PCM_S16BE, "pcm_s16be"),
        (audio::CODEC_ID_PCM_S24LE, "pcm_s24le"),
        (audio::CODEC_ID_PCM_S24BE, "pcm_s24be"),
        (audio::CODEC_ID_PCM_S32LE, "pcm_s32le"),
        (audio::CODEC_ID_PCM_S32BE, "pcm_s32be"),
        (audio::CODEC_ID_PCM_F32LE, "pcm_f32le"),
        (audio::CODEC_ID_PCM_F32BE, "pcm_f32be"),
        (audio::CODEC_ID_PCM_F64LE, "pcm_f64le"),
        (audio::CODEC_ID_PCM_F64BE, "pcm_f64be"),
        (audio::CODEC_ID_PCM_ALAW, "pcm_alaw"),
        (audio::CODEC_ID_PCM_MULAW, "pcm_mulaw"),
        (audio::CODEC_ID_ADPCM_MS, "adpcm_ms"),
        (audio::CODEC_ID_ADPCM_IMA_WAV, "adpcm_ima_wav"),
        (audio::CODEC_ID_ADPCM_IMA_QT, "adpcm_ima_qt"),
        (audio::CODEC_ID_VORBIS, "vorbis"),
        (audio::CODEC_ID_OPUS, "opus"),
        (audio::CODEC_ID_SPEEX, "speex"),
        (audio::CODEC_ID_MP1, "mp1"),
        (audio::CODEC_ID_MP2, "mp2"),
        (audio::CODEC_ID_MP3, "mp3"),
        (audio::CODEC_ID_AAC, "aac"),
        (audio::CODEC_ID_AC3, "ac3"),
        (audio::CODEC_ID_EAC3, "eac3"),
        (audio::CODEC_ID_DCA, "dts"),
        (audio::CODEC_ID_WMA, "wma"),
        (audio::CODEC_ID_FLAC, "flac"),
        (audio::CODEC_ID_WAVPACK, "wavpack"),
        (audio::CODEC_ID_MONKEYS_AUDIO, "ape"),
        (audio::CODEC_ID_ALAC, "alac"),
        (audio::CODEC_ID_TTA, "tta"),
        (audio::CODEC_ID_TRUEHD, "truehd"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == id)
        .map_or_else(|| format!("unknown ({id})"), |(_, name)| (*name).to_owned())
}

/// The name of a video codec, or `unknown (0x…)`.
pub(crate) fn video_codec(id: VideoCodecId) -> String {
    let known = [
        (video::CODEC_ID_MJPEG, "mjpeg"),
        (video::CODEC_ID_THEORA, "theora"),
        (video::CODEC_ID_VP8, "vp8"),
        (video::CODEC_ID_VP9, "vp9"),
        (video::CODEC_ID_AV1, "av1"),
        (video::CODEC_ID_MPEG1, "mpeg1video"),
        (video::CODEC_ID_MPEG2, "mpeg2video"),
        (video::CODEC_ID_MPEG4, "mpeg4"),
        (video::CODEC_ID_H263, "h263"),
        (video::CODEC_ID_H264, "h264"),
        (video::CODEC_ID_HEVC, "hevc"),
        (video::CODEC_ID_VVC, "vvc"),
        (video::CODEC_ID_VC1, "vc1"),
        (video::CODEC_ID_WMV3, "wmv3"),
        (video::CODEC_ID_MSMPEG4V3, "msmpeg4v3"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == id)
        .map_or_else(|| format!("unknown ({id})"), |(_, name)| (*name).to_owned())
}

/// The name of a subtitle codec, or `unknown (0x…)`.
pub(crate) fn subtitle_codec(id: SubtitleCodecId) -> String {
    let known = [
        (subtitle::CODEC_ID_TEXT_UTF8, "text"),
        (subtitle::CODEC_ID_SSA, "ssa"),
        (subtitle::CODEC_ID_ASS, "ass"),
        (subtitle::CODEC_ID_SRT, "subrip"),
        (subtitle::CODEC_ID_WEBVTT, "webvtt"),
        (subtitle::CODEC_ID_MOV_TEXT, "mov_text"),
        (subtitle::CODEC_ID_DVBSUB, "dvb_subtitle"),
        (subtitle::CODEC_ID_VOBSUB, "dvd_subtitle"),
        (subtitle::CODEC_ID_HDMV_PGS, "hdmv_pgs_subtitle"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == id)
        .map_or_else(|| format!("unknown ({id})"), |(_, name)| (*name).to_owned())
}
