//! A caption generator written in Python: a callable taking the request as a dict —
//! `{"product": …, "platforms": [...], "tone": …, "variant": n, "rules": {platform: {"max_caption",
//! "length_unit", "max_hashtags", "hashtags_in_caption"}}}` — and returning
//! `{"caption": str, "hashtags": [str]}` (optionally `"platform_captions"`: `{platform: {"caption",
//! "hashtags"}}` for platforms that get their own, and `"generator"`, `"input_tokens"`,
//! `"output_tokens"` for the record), or just the caption as a string. Raising
//! `postpilot.CaptionRefused` refuses the product (422); anything else, or an answer that is not a
//! valid caption, makes generation unavailable (503). The engine holds what it returns to every
//! target platform's rules, as it does any generator's.

use async_trait::async_trait;
use postpilot_core::caption::{
    CaptionError, CaptionGenerator, CaptionRequest, GeneratedCaption, Generator, PlatformCaptions,
    TokenUsage,
};
use postpilot_core::platform::LengthUnit;
use postpilot_core::post::{Caption, Hashtags};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::publisher::on_blocking_thread;

pub(crate) struct PyCaptions {
    callable: Py<PyAny>,
}

impl std::fmt::Debug for PyCaptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PyCaptions")
    }
}

impl PyCaptions {
    pub(crate) fn new(callable: Py<PyAny>) -> Self {
        Self { callable }
    }
}

fn unavailable(reason: impl std::fmt::Display) -> CaptionError {
    CaptionError::Unavailable(format!("the Python caption generator {reason}").into())
}

fn request_dict<'py>(py: Python<'py>, request: &CaptionRequest) -> PyResult<Bound<'py, PyDict>> {
    let rules = PyDict::new(py);
    for platform in &request.platforms {
        let r = platform.rules();
        let rule = PyDict::new(py);
        rule.set_item("max_caption", r.max_caption)?;
        let unit = match r.length_unit {
            LengthUnit::Chars => "chars",
            LengthUnit::Utf16Units => "utf16",
        };
        rule.set_item("length_unit", unit)?;
        rule.set_item("max_hashtags", r.max_hashtags)?;
        rule.set_item("hashtags_in_caption", r.hashtags_in_caption)?;
        rules.set_item(platform.as_str(), rule)?;
    }
    let dict = PyDict::new(py);
    dict.set_item("product", crate::convert::to_python(py, &request.product)?)?;
    let platforms: Vec<&str> = request.platforms.iter().map(|p| p.as_str()).collect();
    dict.set_item("platforms", platforms)?;
    dict.set_item("tone", request.tone.as_str())?;
    dict.set_item("variant", request.variant)?;
    dict.set_item("rules", rules)?;
    Ok(dict)
}

/// What the callable returned, as a caption.
fn generated(value: &Bound<'_, PyAny>) -> Result<GeneratedCaption, String> {
    let field = |key: &str| value.get_item(key).ok().filter(|v| !v.is_none());
    let (text, tags): (String, Vec<String>) = match value.extract::<String>() {
        Ok(text) => (text, Vec::new()),
        Err(_) => (
            field("caption")
                .and_then(|c| c.extract().ok())
                .ok_or("returned neither a string nor a dict with a string \"caption\"")?,
            match field("hashtags") {
                None => Vec::new(),
                Some(h) => h
                    .extract()
                    .map_err(|_| "returned \"hashtags\" that are not strings")?,
            },
        ),
    };
    let caption = Caption::parse(text).map_err(|e| format!("returned an invalid caption: {e}"))?;
    let hashtags =
        Hashtags::parse(&tags).map_err(|e| format!("returned an invalid hashtag: {e}"))?;
    let count = |key: &str| {
        field(key)
            .and_then(|v| v.extract::<u64>().ok())
            .unwrap_or(0)
    };
    let name = field("generator")
        .and_then(|g| g.extract::<String>().ok())
        .unwrap_or_else(|| "python".into());
    let per_platform = match field("platform_captions") {
        None => PlatformCaptions::default(),
        Some(own) => crate::convert::platform_captions(&own)
            .map_err(|e| format!("returned invalid \"platform_captions\": {e}"))?,
    };
    Ok(GeneratedCaption {
        caption,
        hashtags,
        per_platform,
        generator: Generator {
            name,
            usage: TokenUsage {
                input: count("input_tokens"),
                output: count("output_tokens"),
            },
            fell_back: None,
        },
    })
}

#[async_trait]
impl CaptionGenerator for PyCaptions {
    async fn generate(&self, request: &CaptionRequest) -> Result<GeneratedCaption, CaptionError> {
        let request = request.clone();
        on_blocking_thread(
            &self.callable,
            move |py, callable| {
                let dict = request_dict(py, &request).map_err(unavailable)?;
                let value = callable.call1((dict,)).map_err(|e| {
                    if e.is_instance_of::<crate::CaptionRefused>(py) {
                        CaptionError::Refused(e.value(py).to_string())
                    } else {
                        unavailable(format!("raised {e}"))
                    }
                })?;
                generated(&value).map_err(unavailable)
            },
            |lost| unavailable(format!("panicked: {lost}")),
        )
        .await
    }
}
