//! What the clients need to know of a post's media URLs.

/// Whether a media URL is a video, by its path's extension (the platforms need to be told).
pub(crate) fn is_video(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    [".mp4", ".mov", ".m4v"]
        .iter()
        .any(|ext| path.ends_with(ext))
}
