//! What the clients need to know of a post's media URLs.

/// Whether a media URL is a video, by its path's extension (the platforms need to be told).
pub(crate) fn is_video(url: &str) -> bool {
    video_type(url).is_some()
}

/// A video URL's media type, by its path's extension: `video/mp4` (`.mp4`, `.m4v`) or
/// `video/quicktime` (`.mov`); `None` for anything else.
pub(crate) fn video_type(url: &str) -> Option<&'static str> {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    [
        (".mp4", "video/mp4"),
        (".m4v", "video/mp4"),
        (".mov", "video/quicktime"),
    ]
    .iter()
    .find(|(ext, _)| path.ends_with(ext))
    .map(|(_, kind)| *kind)
}
