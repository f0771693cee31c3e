//! `image_processor`: image information and transformations (pure Rust).

use std::io::Cursor;
use std::path::Path;

use async_trait::async_trait;
use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{ColorType, DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::media::config::MediaConfig;
use crate::media::files::{MediaFiles, extension};
use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;

/// Reads and transforms PNG, JPEG, WebP and GIF images under the
/// [`FsSandbox`] roots.
///
/// Operations: `info` (format, dimensions, color type; reads only the
/// header), `resize`, `crop`, `rotate`, `flip`, `grayscale`, `convert` and
/// `thumbnail`. Each transformation reads `path` and writes `output_path`
/// (refusing to replace a file unless `overwrite`), in `format` or the
/// format of `output_path`'s extension, else the input's.
///
/// Limits: files larger than the configured `max_file_bytes` and images
/// whose width × height exceeds `max_image_pixels` (read from the header,
/// before decoding) are refused with `ResourceLimitExceeded`, as are
/// results that would exceed either. WebP is written lossless; JPEG has no
/// alpha channel, so transparency is dropped; an animated GIF is read as its
/// first frame.
#[derive(Debug, Clone)]
pub struct ImageProcessor {
    metadata: ComponentMetadata,
    files: MediaFiles,
    max_pixels: u64,
}

impl ImageProcessor {
    /// Creates the tool confined to `sandbox`, with the default limits of
    /// [`MediaConfig`].
    pub fn new(sandbox: FsSandbox) -> Self {
        Self::with_config(sandbox, &MediaConfig::default())
    }

    /// Creates the tool confined to `sandbox` with the limits of `config`.
    pub fn with_config(sandbox: FsSandbox, config: &MediaConfig) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "image_processor",
                "Reads, resizes, crops, rotates, flips, converts and thumbnails PNG/JPEG/WebP/GIF images",
            ),
            files: MediaFiles::new(sandbox, config.max_file_bytes),
            max_pixels: config.max_image_pixels,
        }
    }
}

/// An image file format.
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
#[schemars(extend("enum" = ["png", "jpeg", "jpg", "webp", "gif"]))]
pub(crate) enum Format {
    Png,
    #[serde(alias = "jpg")]
    Jpeg,
    Webp,
    Gif,
}

impl Format {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
            Format::Webp => "webp",
            Format::Gif => "gif",
        }
    }

    fn from_image(format: ImageFormat) -> Option<Self> {
        match format {
            ImageFormat::Png => Some(Format::Png),
            ImageFormat::Jpeg => Some(Format::Jpeg),
            ImageFormat::WebP => Some(Format::Webp),
            ImageFormat::Gif => Some(Format::Gif),
            _ => None,
        }
    }

    fn image(self) -> ImageFormat {
        match self {
            Format::Png => ImageFormat::Png,
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Webp => ImageFormat::WebP,
            Format::Gif => ImageFormat::Gif,
        }
    }

    pub(crate) fn from_extension(path: &str) -> Option<Self> {
        match extension(path)?.as_str() {
            "png" => Some(Format::Png),
            "jpg" | "jpeg" => Some(Format::Jpeg),
            "webp" => Some(Format::Webp),
            "gif" => Some(Format::Gif),
            _ => None,
        }
    }
}

/// A resampling filter, from fastest to sharpest.
#[derive(Deserialize, JsonSchema, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
enum Filter {
    Nearest,
    Triangle,
    CatmullRom,
    Gaussian,
    #[default]
    Lanczos3,
}

impl Filter {
    fn image(self) -> FilterType {
        match self {
            Filter::Nearest => FilterType::Nearest,
            Filter::Triangle => FilterType::Triangle,
            Filter::CatmullRom => FilterType::CatmullRom,
            Filter::Gaussian => FilterType::Gaussian,
            Filter::Lanczos3 => FilterType::Lanczos3,
        }
    }
}

/// A flip direction.
#[derive(Deserialize, JsonSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Direction {
    Horizontal,
    Vertical,
}

fn default_keep_aspect() -> bool {
    true
}

fn default_thumbnail_size() -> u32 {
    128
}

/// Defines `Operation` (the parameters): `info`, and each transformation
/// given here with the fields every transformation shares (`path`,
/// `output_path`, `format`, `quality`, `overwrite`) added, so that those and
/// their documentation are written once; and `Kind`, a transformation
/// without the shared fields, which `Operation::split` separates.
macro_rules! transforms {
    ($(
        $(#[$doc:meta])*
        $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty,)* }
    )*) => {
        /// The operations of `image_processor`. Transformations output
        /// `{ path, format, width, height, color_type, bytes }`.
        #[derive(Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        enum Operation {
            /// Reports `{ path, format, width, height, color_type, has_alpha,
            /// bytes }` from the image's header, without decoding the pixels.
            Info {
                /// The image file.
                path: String,
            },
            $(
                $(#[$doc])*
                $name {
                    /// The image file.
                    path: String,
                    $($(#[$fdoc])* $field: $ty,)*
                    /// Where to write the result, inside the allowed roots.
                    output_path: String,
                    /// The output format: `png`, `jpeg` (or `jpg`), `webp` or
                    /// `gif` (default: from `output_path`'s extension, else the
                    /// input's format).
                    format: Option<Format>,
                    /// JPEG quality from 1 to 100 (default 85); other formats
                    /// ignore it.
                    #[schemars(range(min = 1, max = 100))]
                    quality: Option<u8>,
                    /// Replace an existing file at `output_path` (default
                    /// `false`).
                    #[serde(default)]
                    overwrite: bool,
                },
            )*
        }

        /// A transformation without the fields every one shares.
        enum Kind {
            $( $name { $($field: $ty,)* }, )*
        }

        impl Operation {
            /// `Err(path)` for `info`; else the shared fields and the
            /// transformation.
            fn split(self) -> std::result::Result<(Output, Kind), String> {
                match self {
                    Operation::Info { path } => Err(path),
                    $(
                        Operation::$name { path, $($field,)* output_path, format, quality, overwrite } => Ok((
                            Output { path, output_path, format, quality, overwrite },
                            Kind::$name { $($field,)* },
                        )),
                    )*
                }
            }
        }
    };
}

/// The fields every transformation shares.
struct Output {
    path: String,
    output_path: String,
    format: Option<Format>,
    quality: Option<u8>,
    overwrite: bool,
}

transforms! {
    /// Scales the image. With `keep_aspect` (the default) it fits within
    /// `width` × `height`, either of which may be left out; without, both
    /// are required and the image is stretched to them.
    Resize {
        /// The target width in pixels.
        #[schemars(range(min = 1))]
        width: Option<u32>,
        /// The target height in pixels.
        #[schemars(range(min = 1))]
        height: Option<u32>,
        /// Keep the width-to-height ratio (default `true`).
        #[serde(default = "default_keep_aspect")]
        keep_aspect: bool,
        /// The resampling filter: `nearest`, `triangle`, `catmull_rom`,
        /// `gaussian` or `lanczos3` (default).
        #[serde(default)]
        filter: Filter,
    }
    /// Cuts out the rectangle at `x`, `y` (from the top left) of `width` ×
    /// `height` pixels, which must lie inside the image.
    Crop {
        /// The left edge, in pixels from the left.
        x: u32,
        /// The top edge, in pixels from the top.
        y: u32,
        /// The width of the rectangle in pixels.
        #[schemars(range(min = 1))]
        width: u32,
        /// The height of the rectangle in pixels.
        #[schemars(range(min = 1))]
        height: u32,
    }
    /// Rotates the image clockwise by 90, 180 or 270 degrees.
    Rotate {
        /// Degrees clockwise: 90, 180 or 270.
        #[schemars(extend("enum" = [90, 180, 270]))]
        degrees: u16,
    }
    /// Mirrors the image: `horizontal` swaps left and right, `vertical`
    /// top and bottom.
    Flip {
        /// `horizontal` or `vertical`.
        direction: Direction,
    }
    /// Converts the image to shades of gray (keeping any alpha channel).
    Grayscale {}
    /// Writes the image in another format.
    Convert {}
    /// Writes a small copy that fits within `max_size` × `max_size`,
    /// keeping the aspect ratio.
    Thumbnail {
        /// The largest width and height in pixels, from 1 to 1024 (default
        /// 128).
        #[serde(default = "default_thumbnail_size")]
        #[schemars(range(min = 1, max = 1024))]
        max_size: u32,
    }
}

/// How `image_processor` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

/// An image's header: its format, size and color type.
struct Header {
    format: Format,
    width: u32,
    height: u32,
    color: ColorType,
}

fn color_name(color: ColorType) -> String {
    format!("{color:?}").to_ascii_lowercase()
}

/// Maps a decoding failure of `path` to an error naming the file.
fn decode_error(path: &str, format: Option<Format>, e: &ImageError) -> Error {
    let what = format.map_or("image".to_owned(), |f| format!("{} image", f.name()));
    match e {
        ImageError::Limits(l) => Error::invalid_input(
            "path",
            format!("`{path}` needs more memory to decode than allowed: {l}"),
        ),
        _ => Error::invalid_input(
            "path",
            format!("`{path}` is not a valid {what} (corrupt or truncated): {e}"),
        ),
    }
}

impl ImageProcessor {
    fn pixels(&self, width: u32, height: u32) -> Result<()> {
        let n = u64::from(width) * u64::from(height);
        if n > self.max_pixels {
            Err(Error::ResourceLimitExceeded {
                resource: "image_pixels".to_owned(),
                limit: self.max_pixels,
                requested: n,
            })
        } else {
            Ok(())
        }
    }

    /// The format of `bytes`, read from their content.
    fn sniff(path: &str, bytes: &[u8]) -> Result<Format> {
        let guessed = image::guess_format(bytes).ok();
        match guessed {
            Some(f) => Format::from_image(f).ok_or_else(|| {
                Error::invalid_input(
                    "path",
                    format!(
                        "`{path}` is a {} image; supported formats are png, jpeg, webp and gif",
                        f.extensions_str().first().copied().unwrap_or("different")
                    ),
                )
            }),
            None => Err(Error::invalid_input(
                "path",
                format!(
                    "cannot tell the image format of `{path}` from its content; supported \
                     formats are png, jpeg, webp and gif"
                ),
            )),
        }
    }

    fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        // 16 bytes per pixel covers every color type (RGBA 32-bit float),
        // and the decoder's own buffers stay within twice that.
        limits.max_alloc = Some(self.max_pixels.saturating_mul(32).max(1 << 20));
        limits
    }

    /// Reads the header of `bytes`: format, size and color type.
    fn read_header(&self, path: &str, bytes: &[u8]) -> Result<Header> {
        let format = Self::sniff(path, bytes)?;
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image());
        reader.limits(self.limits());
        let decoder = reader
            .into_decoder()
            .map_err(|e| decode_error(path, Some(format), &e))?;
        let (width, height) = decoder.dimensions();
        Ok(Header {
            format,
            width,
            height,
            color: decoder.color_type(),
        })
    }

    /// Reads the header of `bytes` and checks its size against the limits.
    fn header(&self, path: &str, bytes: &[u8]) -> Result<Header> {
        let header = self.read_header(path, bytes)?;
        self.pixels(header.width, header.height)?;
        Ok(header)
    }

    /// Decodes the pixels of `bytes`, whose header was checked.
    fn decode(&self, path: &str, bytes: &[u8], header: &Header) -> Result<DynamicImage> {
        let mut reader = ImageReader::with_format(Cursor::new(bytes), header.format.image());
        reader.limits(self.limits());
        reader
            .decode()
            .map_err(|e| decode_error(path, Some(header.format), &e))
    }

    /// Writes `image` as `output` asks and reports it.
    fn save(&self, image: &DynamicImage, input: Format, output: &Output) -> Result<Value> {
        self.pixels(image.width(), image.height())?;
        let format = output
            .format
            .or_else(|| Format::from_extension(&output.output_path))
            .unwrap_or(input);
        let target = self.files.output(&output.output_path, output.overwrite)?;
        let bytes = encode(image, format, output.quality.unwrap_or(85))?;
        self.files.write(&target, &bytes, output.overwrite)?;
        Ok(json!({
            "path": self.files.display(&target),
            "format": format.name(),
            "width": image.width(),
            "height": image.height(),
            "color_type": color_name(image.color()),
            "bytes": bytes.len(),
        }))
    }

    fn info(&self, path: &str) -> Result<Value> {
        let (file, size) = self.files.input("path", path)?;
        let bytes = read_prefix(&file, size, self.files.max_bytes())?;
        let header = self.read_header(path, &bytes)?;
        Ok(json!({
            "path": self.files.display(&file),
            "format": header.format.name(),
            "width": header.width,
            "height": header.height,
            "color_type": color_name(header.color),
            "has_alpha": header.color.has_alpha(),
            "bytes": size,
        }))
    }

    fn resize_dimensions(
        header: &Header,
        width: Option<u32>,
        height: Option<u32>,
        keep_aspect: bool,
    ) -> Result<(u32, u32, bool)> {
        let scaled = |num: u32, den: u32, other: u32| -> u32 {
            let v = (f64::from(other) * f64::from(num) / f64::from(den)).round();
            v.clamp(1.0, f64::from(u32::MAX)) as u32
        };
        match (width, height, keep_aspect) {
            (Some(0), _, _) => Err(Error::invalid_input("width", "expected at least 1 pixel")),
            (_, Some(0), _) => Err(Error::invalid_input("height", "expected at least 1 pixel")),
            (Some(w), Some(h), false) => Ok((w, h, true)),
            (_, _, false) => Err(Error::invalid_input(
                if width.is_none() { "width" } else { "height" },
                "both `width` and `height` are required when keep_aspect is false",
            )),
            // Fits within the box; the image crate keeps the ratio.
            (Some(w), Some(h), true) => Ok((w, h, false)),
            (Some(w), None, true) => Ok((w, scaled(w, header.width, header.height), true)),
            (None, Some(h), true) => Ok((scaled(h, header.height, header.width), h, true)),
            (None, None, true) => Err(Error::invalid_input(
                "width",
                "give `width`, `height` or both",
            )),
        }
    }

    fn run(&self, op: Operation) -> Result<Value> {
        let (output, kind) = match op.split() {
            Err(path) => return self.info(&path),
            Ok(split) => split,
        };
        let path = output.path.as_str();
        if let Kind::Rotate { degrees } = kind
            && !matches!(degrees, 90 | 180 | 270)
        {
            return Err(Error::invalid_input(
                "degrees",
                format!("expected 90, 180 or 270, got {degrees}"),
            ));
        }
        if let Kind::Thumbnail { max_size } = kind
            && !(1..=1024).contains(&max_size)
        {
            return Err(Error::invalid_input(
                "max_size",
                format!("expected 1 to 1024 pixels, got {max_size}"),
            ));
        }
        if let Some(q) = output.quality
            && !(1..=100).contains(&q)
        {
            return Err(Error::invalid_input(
                "quality",
                format!("expected 1 to 100, got {q}"),
            ));
        }
        // Refuse a bad output before reading anything.
        self.files.output(&output.output_path, output.overwrite)?;
        let (_, bytes) = self.files.read("path", path)?;
        // Everything that can be checked from the header is, before the
        // pixels are decoded.
        let header = self.header(path, &bytes)?;
        let resize = match &kind {
            Kind::Crop {
                x,
                y,
                width,
                height,
            } => {
                check_crop(&header, *x, *y, *width, *height)?;
                None
            }
            Kind::Resize {
                width,
                height,
                keep_aspect,
                ..
            } => {
                let (w, h, exact) =
                    Self::resize_dimensions(&header, *width, *height, *keep_aspect)?;
                self.pixels(w, h)?;
                Some((w, h, exact))
            }
            _ => None,
        };
        let image = self.decode(path, &bytes, &header)?;
        let result = match kind {
            Kind::Resize { filter, .. } => match resize {
                Some((w, h, true)) => image.resize_exact(w, h, filter.image()),
                Some((w, h, false)) => image.resize(w, h, filter.image()),
                None => image,
            },
            Kind::Crop {
                x,
                y,
                width,
                height,
            } => image.crop_imm(x, y, width, height),
            Kind::Rotate { degrees } => match degrees {
                90 => image.rotate90(),
                180 => image.rotate180(),
                _ => image.rotate270(),
            },
            Kind::Flip { direction } => match direction {
                Direction::Horizontal => image.fliph(),
                Direction::Vertical => image.flipv(),
            },
            Kind::Grayscale {} => image.grayscale(),
            Kind::Convert {} => image,
            Kind::Thumbnail { max_size } => image.thumbnail(max_size, max_size),
        };
        self.save(&result, header.format, &output)
    }
}

/// `image` encoded as `format` (JPEG at `quality`, 1-100).
pub(crate) fn encode(image: &DynamicImage, format: Format, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let failed = |e: ImageError| {
        Error::execution(
            "tool:image_processor",
            format!("cannot encode the image as {}: {e}", format.name()),
        )
    };
    match format {
        Format::Png => image
            .write_with_encoder(PngEncoder::new(&mut out))
            .map_err(failed)?,
        Format::Jpeg => {
            // JPEG has no alpha channel and no 16-bit samples.
            let flat = if image.color().has_color() {
                DynamicImage::ImageRgb8(image.to_rgb8())
            } else {
                DynamicImage::ImageLuma8(image.to_luma8())
            };
            flat.write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))
                .map_err(failed)?;
        }
        Format::Webp => {
            let eight = if image.color().has_alpha() {
                DynamicImage::ImageRgba8(image.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.to_rgb8())
            };
            eight
                .write_with_encoder(WebPEncoder::new_lossless(&mut out))
                .map_err(failed)?;
        }
        Format::Gif => {
            DynamicImage::ImageRgba8(image.to_rgba8())
                .write_with_encoder(GifEncoder::new(&mut out))
                .map_err(failed)?;
        }
    }
    Ok(out)
}

fn check_crop(header: &Header, x: u32, y: u32, width: u32, height: u32) -> Result<()> {
    if width == 0 {
        return Err(Error::invalid_input("width", "expected at least 1 pixel"));
    }
    if height == 0 {
        return Err(Error::invalid_input("height", "expected at least 1 pixel"));
    }
    let (w, h) = (header.width, header.height);
    if u64::from(x) + u64::from(width) > u64::from(w) {
        return Err(Error::invalid_input(
            if x >= w { "x" } else { "width" },
            format!(
                "the crop box (x {x}, width {width}) reaches past the image's right edge: \
                 x + width must be at most {w}"
            ),
        ));
    }
    if u64::from(y) + u64::from(height) > u64::from(h) {
        return Err(Error::invalid_input(
            if y >= h { "y" } else { "height" },
            format!(
                "the crop box (y {y}, height {height}) reaches past the image's bottom edge: \
                 y + height must be at most {h}"
            ),
        ));
    }
    Ok(())
}

/// The bytes of `file` to read its header from: all of it when it is within
/// the size cap, else its first 4 MiB (PNG, GIF and WebP keep their
/// dimensions in the first few hundred bytes; JPEG's frame header follows
/// its metadata segments, which are rarely longer).
fn read_prefix(file: &Path, size: u64, max: u64) -> Result<Vec<u8>> {
    use std::io::Read as _;
    const PREFIX: u64 = 4 * 1024 * 1024;
    let take = if size <= max { size } else { PREFIX };
    let mut bytes = Vec::with_capacity(usize::try_from(take).unwrap_or(0));
    std::fs::File::open(file)
        .and_then(|f| f.take(take).read_to_end(&mut bytes))
        .map_err(|e| crate::fs::io_error("read", file, &e))?;
    Ok(bytes)
}

#[async_trait]
impl Tool for ImageProcessor {
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
            json!({ "operation": "info", "path": "photo.png" }),
            json!({
                "operation": "resize", "path": "photo.png", "width": 32,
                "output_path": "photo-small.webp"
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": { "type": "string", "description": "The file read (info) or written" },
                "format": { "type": "string", "enum": ["png", "jpeg", "webp", "gif"] },
                "width": { "type": "integer", "minimum": 1 },
                "height": { "type": "integer", "minimum": 1 },
                "color_type": { "type": "string", "description": "l8, la8, rgb8, rgba8, l16, la16, rgb16, rgba16, rgb32f or rgba32f" },
                "has_alpha": { "type": "boolean", "description": "info only" },
                "bytes": { "type": "integer", "description": "The file's size" }
            },
            "required": ["path", "format", "width", "height", "color_type", "bytes"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let op = PARAMS.read(params)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.run(op))
            .await
            .map_err(|e| Error::execution("tool:image_processor", format!("task failed: {e}")))?
    }
}
