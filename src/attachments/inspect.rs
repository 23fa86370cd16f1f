//! What an uploaded object really is: its type from its magic bytes, its dimensions from its
//! header (before anything is decoded), and a thumbnail made from it under decoding limits.
//! Nothing a client declares is trusted.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// How many leading bytes are read to check an upload (JPEG headers may carry large EXIF and
/// ICC segments before the frame header that holds the dimensions).
pub const PREFIX_BYTES: u64 = 256 * 1024;

/// The bounds an image must keep.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_side: u32,
    pub max_pixels: u64,
}

/// Why an object is not the image it was declared to be.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the content is not {declared} (it looks like {found})")]
    TypeMismatch {
        declared: String,
        found: &'static str,
    },
    #[error("the image's dimensions cannot be read")]
    Unreadable,
    #[error(
        "the image is {width}×{height} px: at most {max_side} px a side and {max_pixels} pixels"
    )]
    TooManyPixels {
        width: u64,
        height: u64,
        max_side: u32,
        max_pixels: u64,
    },
}

impl Rejection {
    /// A short, bounded label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::TypeMismatch { .. } => "type_mismatch",
            Rejection::Unreadable => "unreadable",
            Rejection::TooManyPixels { .. } => "dimensions",
        }
    }
}

fn format_of(content_type: &str) -> Option<ImageFormat> {
    match content_type {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Checks that `prefix` (the object's first bytes) is an image of `declared` type within
/// `bounds`, and reads its width and height from the header alone.
pub fn check(prefix: &[u8], declared: &str, bounds: Bounds) -> Result<(u32, u32), Rejection> {
    let found = infer::get(prefix).map_or("unknown content", |kind| kind.mime_type());
    if found != declared || format_of(declared).is_none() {
        return Err(Rejection::TypeMismatch {
            declared: declared.to_string(),
            found,
        });
    }
    let size = imagesize::blob_size(prefix).map_err(|_| Rejection::Unreadable)?;
    let (width, height) = (size.width as u64, size.height as u64);
    if width == 0
        || height == 0
        || width > u64::from(bounds.max_side)
        || height > u64::from(bounds.max_side)
        || width * height > bounds.max_pixels
    {
        return Err(Rejection::TooManyPixels {
            width,
            height,
            max_side: bounds.max_side,
            max_pixels: bounds.max_pixels,
        });
    }
    Ok((width as u32, height as u32))
}

/// A thumbnail of `bytes` at most `px` on its longer side, upright (the EXIF orientation
/// applied) and without metadata: JPEG for opaque images, lossless WebP when there is
/// transparency. Decoding is bounded by `bounds` and a memory limit. CPU work: call it from a
/// blocking thread.
pub fn thumbnail(
    bytes: &[u8],
    content_type: &str,
    px: u32,
    bounds: Bounds,
) -> Result<(Vec<u8>, &'static str), image::ImageError> {
    let format = format_of(content_type).ok_or_else(|| {
        image::ImageError::Unsupported(image::error::UnsupportedError::from_format_and_kind(
            image::error::ImageFormatHint::Unknown,
            image::error::UnsupportedErrorKind::Format(image::error::ImageFormatHint::Unknown),
        ))
    })?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(bounds.max_side);
    limits.max_image_height = Some(bounds.max_side);
    // The decoded canvas (at most 4 bytes a pixel) and the decoder's own buffers.
    limits.max_alloc = Some(bounds.max_pixels * 4 + (64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation()?;
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    let small = if image.width() <= px && image.height() <= px {
        image
    } else {
        image.thumbnail(px, px)
    };
    let mut out = Vec::new();
    if small.color().has_alpha() {
        small
            .to_rgba8()
            .write_with_encoder(WebPEncoder::new_lossless(&mut out))?;
        Ok((out, "image/webp"))
    } else {
        small
            .to_rgb8()
            .write_with_encoder(JpegEncoder::new_with_quality(&mut out, 80))?;
        Ok((out, "image/jpeg"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    const BOUNDS: Bounds = Bounds {
        max_side: 16384,
        max_pixels: 50_000_000,
    };

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = ImageBuffer::from_pixel(width, height, Rgb([200u8, 10, 10]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn the_declared_type_must_be_the_real_one() {
        let bytes = png(40, 30);
        assert_eq!(check(&bytes, "image/png", BOUNDS), Ok((40, 30)));
        assert!(matches!(
            check(&bytes, "image/jpeg", BOUNDS),
            Err(Rejection::TypeMismatch {
                found: "image/png",
                ..
            })
        ));
        assert!(matches!(
            check(b"hello, not an image", "image/png", BOUNDS),
            Err(Rejection::TypeMismatch { .. })
        ));
        assert!(matches!(
            check(&bytes, "text/html", BOUNDS),
            Err(Rejection::TypeMismatch { .. })
        ));
    }

    #[test]
    fn huge_canvases_are_refused_from_the_header() {
        // A PNG header claiming 20,000 × 20,000 px: refused without decoding anything.
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        assert!(matches!(
            check(&bytes, "image/png", BOUNDS),
            Err(Rejection::TooManyPixels { width: 20_000, .. })
        ));
        let wide = Bounds {
            max_side: 16384,
            max_pixels: 100,
        };
        assert!(check(&png(11, 10), "image/png", wide).is_err());
        assert!(check(&png(10, 10), "image/png", wide).is_ok());
    }

    #[test]
    fn thumbnails_keep_the_aspect_and_fit_the_box() {
        let (bytes, kind) = thumbnail(&png(1000, 500), "image/png", 320, BOUNDS).unwrap();
        assert_eq!(kind, "image/jpeg");
        let small = image::load_from_memory(&bytes).unwrap();
        assert_eq!((small.width(), small.height()), (320, 160));
        let clear = ImageBuffer::from_pixel(50, 100, Rgba([0u8, 0, 0, 0]));
        let mut out = Cursor::new(Vec::new());
        clear.write_to(&mut out, ImageFormat::Png).unwrap();
        let (bytes, kind) = thumbnail(&out.into_inner(), "image/png", 320, BOUNDS).unwrap();
        assert_eq!(kind, "image/webp");
        let small = image::load_from_memory(&bytes).unwrap();
        assert_eq!((small.width(), small.height()), (50, 100));
    }
}
