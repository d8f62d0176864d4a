//! Which images move: `--image`, else `ROLLBACK_IMAGES`, else the two the
//! old script moved. Never the generic `IMAGE_NAME`/`TENANT_IMAGE_NAME`,
//! which workflows set for other purposes.

use registry_tag::Image;

use crate::Error;

/// The images the old script moved when nothing else is named.
pub const DEFAULT_IMAGES: [&str; 2] = [
    "ghcr.io/molecule-ai/platform",
    "ghcr.io/molecule-ai/platform-tenant",
];

/// The tool's own variable for the image list.
pub const IMAGES_VAR: &str = "ROLLBACK_IMAGES";

/// Where the list of images came from, said before anything moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSource {
    Flag,
    Variable,
    Default,
}

impl std::fmt::Display for ImageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageSource::Flag => write!(f, "--image"),
            ImageSource::Variable => write!(f, "{IMAGES_VAR}"),
            ImageSource::Default => write!(f, "the built-in default"),
        }
    }
}

/// `--image`, else `ROLLBACK_IMAGES` (spaces, commas or newlines between
/// names), else the defaults. A `ROLLBACK_IMAGES` that is set but names no
/// image is an error rather than a silent fall-back to the defaults.
pub fn images(
    flags: &[String],
    variable: Option<std::ffi::OsString>,
) -> Result<(Vec<Image>, ImageSource), Error> {
    let (names, source): (Vec<String>, _) = if !flags.is_empty() {
        (flags.to_vec(), ImageSource::Flag)
    } else if let Some(value) = variable {
        let value = value
            .into_string()
            .map_err(|_| Error::Usage(format!("{IMAGES_VAR} is not valid UTF-8")))?;
        let names: Vec<String> = value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            return Err(Error::Usage(format!(
                "{IMAGES_VAR} is set but names no image: list the images (separated by spaces, commas or newlines), or unset it to move {}",
                DEFAULT_IMAGES.join(" and ")
            )));
        }
        (names, ImageSource::Variable)
    } else {
        (
            DEFAULT_IMAGES.iter().map(|s| s.to_string()).collect(),
            ImageSource::Default,
        )
    };
    let mut images: Vec<Image> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let image = Image::parse(name.trim()).map_err(|e| match source {
            ImageSource::Variable => Error::Usage(format!("{IMAGES_VAR} entry {}: {e}", i + 1)),
            _ => Error::Registry(e.into()),
        })?;
        if images.iter().any(|i| i.canonical() == image.canonical()) {
            return Err(Error::Usage(format!(
                "image {name} is given twice ({source})"
            )));
        }
        images.push(image);
    }
    Ok((images, source))
}

/// `2 images from ROLLBACK_IMAGES: a, b`: said before anything moves.
pub fn describe(images: &[Image], source: ImageSource) -> String {
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    format!(
        "{} image{} from {source}: {}",
        images.len(),
        if images.len() == 1 { "" } else { "s" },
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(images: &[Image]) -> Vec<&str> {
        images.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn images_come_from_the_flag_then_the_variable_then_the_defaults() {
        let (list, source) = images(&[], None).unwrap();
        assert_eq!(
            (names(&list), source),
            (DEFAULT_IMAGES.to_vec(), ImageSource::Default)
        );
        assert_eq!(source.to_string(), "the built-in default");

        let (list, source) = images(&[], Some("a/b,\n c/d".into())).unwrap();
        assert_eq!(
            (names(&list), source),
            (vec!["a/b", "c/d"], ImageSource::Variable)
        );

        let (list, source) = images(&["x/y".into()], Some("a/b".into())).unwrap();
        assert_eq!((names(&list), source), (vec!["x/y"], ImageSource::Flag));
    }

    #[test]
    fn a_blank_variable_or_a_repeated_image_is_refused() {
        assert!(images(&[], Some(" ,".into())).is_err());
        let err = images(&[], Some("a/b a/b".into())).unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
    }
}
