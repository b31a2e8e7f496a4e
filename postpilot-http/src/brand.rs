//! The deployment's brand: the product's name and tagline, its colours, and which dashboard pages
//! the navigation offers, in what order — what a white-label deployment changes (with the plans,
//! in the one service file the bundled server reads). Checked when built, so a bad colour stops
//! the server at startup instead of breaking a page.

use serde::Deserialize;

/// A page the signed-in navigation can offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NavPage {
    /// `/app`.
    Dashboard,
    /// `/app/queue`.
    Queue,
    /// `/app/calendar`.
    Calendar,
    /// `/app/posts`.
    Posts,
    /// `/app/analytics`.
    Analytics,
    /// `/app/templates`.
    Templates,
    /// `/app/accounts`.
    Accounts,
    /// `/app/billing`.
    Billing,
    /// `/app/api-keys`.
    ApiKeys,
    /// `/app/settings`.
    Settings,
}

impl NavPage {
    /// Every page, in the default order.
    pub const ALL: [Self; 10] = [
        Self::Dashboard,
        Self::Queue,
        Self::Calendar,
        Self::Posts,
        Self::Analytics,
        Self::Templates,
        Self::Accounts,
        Self::Billing,
        Self::ApiKeys,
        Self::Settings,
    ];

    /// Its path.
    pub fn path(self) -> &'static str {
        match self {
            Self::Dashboard => "/app",
            Self::Queue => "/app/queue",
            Self::Calendar => "/app/calendar",
            Self::Posts => "/app/posts",
            Self::Analytics => "/app/analytics",
            Self::Templates => "/app/templates",
            Self::Accounts => "/app/accounts",
            Self::Billing => "/app/billing",
            Self::ApiKeys => "/app/api-keys",
            Self::Settings => "/app/settings",
        }
    }

    /// Its label in the navigation.
    pub fn label(self) -> &'static str {
        match self {
            Self::Dashboard => "Dashboard",
            Self::Queue => "Queue",
            Self::Calendar => "Calendar",
            Self::Posts => "Posts",
            Self::Analytics => "Analytics",
            Self::Templates => "Templates",
            Self::Accounts => "Accounts",
            Self::Billing => "Billing",
            Self::ApiKeys => "API keys",
            Self::Settings => "Settings",
        }
    }

    /// The key pages name themselves by (`api-keys`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Dashboard => "dashboard",
            other => other.path().rsplit('/').next().unwrap_or_default(),
        }
    }
}

/// The colour tokens of the stylesheet a brand may set (`--primary`, …).
pub const COLOR_TOKENS: [&str; 8] = [
    "primary",
    "accent",
    "primary-strong",
    "primary-soft",
    "on-primary",
    "link",
    "surface",
    "border",
];

/// The `[brand]` and `[navigation]` tables of a service file, unchecked.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandFile {
    /// The product's name (default `PostPilot`).
    pub name: Option<String>,
    /// One line under the name (footer, landing page).
    pub tagline: Option<String>,
    /// Colour tokens of the light scheme (`primary = "#2563eb"`).
    #[serde(default)]
    pub colors: std::collections::BTreeMap<String, String>,
    /// Colour tokens of the dark scheme.
    #[serde(default)]
    pub dark_colors: std::collections::BTreeMap<String, String>,
}

/// A checked brand.
#[derive(Clone, Debug)]
pub struct Brand {
    name: String,
    tagline: String,
    navigation: Vec<NavPage>,
    /// The stylesheet that sets the brand's colours, when it sets any, and the content-hashed
    /// file name it is served under (computed once, here).
    stylesheet: Option<(String, String)>,
}

/// The name a file is served under: its stem, the first 10 hex digits of its SHA-256, its
/// extension (`app.3f2a9c1d07.css`).
pub(crate) fn hashed_name(file: &str, bytes: &[u8]) -> String {
    let hash = postpilot_core::crypto::hex_sha256(bytes);
    let (stem, extension) = file.rsplit_once('.').unwrap_or((file, ""));
    format!("{stem}.{}.{extension}", &hash[..10])
}

impl Default for Brand {
    fn default() -> Self {
        Self {
            name: "PostPilot".to_owned(),
            tagline: "social posts for online shops".to_owned(),
            navigation: NavPage::ALL.to_vec(),
            stylesheet: None,
        }
    }
}

/// What is wrong with a brand, naming the setting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BrandError(String);

/// A CSS colour this file may hold: `#rgb`, `#rrggbb`, `#rrggbbaa`, or `rgb(…)`, `hsl(…)`,
/// `oklch(…)` of numbers, percentages, commas, `/` and spaces — nothing that could end the
/// declaration.
fn is_color(value: &str) -> bool {
    if let Some(hex) = value.strip_prefix('#') {
        return matches!(hex.len(), 3 | 4 | 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    ["rgb(", "hsl(", "oklch(", "oklab("].iter().any(|f| {
        value
            .strip_prefix(f)
            .and_then(|r| r.strip_suffix(')'))
            .is_some_and(|args| {
                !args.trim().is_empty()
                    && args
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b" .,%/-".contains(&b) || b == b'e')
            })
    })
}

fn declarations(
    table: &str,
    colors: &std::collections::BTreeMap<String, String>,
) -> Result<String, BrandError> {
    let mut css = String::new();
    for (token, value) in colors {
        if !COLOR_TOKENS.contains(&token.as_str()) {
            return Err(BrandError(format!(
                "[brand.{table}] {token}: not a colour token (one of {})",
                COLOR_TOKENS.join(", ")
            )));
        }
        let value = value.trim();
        if !is_color(value) {
            return Err(BrandError(format!(
                "[brand.{table}] {token} = {value:?}: not a colour (#rrggbb, rgb(…), hsl(…) or oklch(…))"
            )));
        }
        css.push_str(&format!("--{token}:{value};"));
    }
    Ok(css)
}

impl Brand {
    /// A brand from its file's tables; what they leave out keeps the default.
    ///
    /// # Errors
    /// An empty or over-long name or tagline, an unknown colour token or a value that is not a
    /// colour, and a navigation without the dashboard or naming a page twice.
    pub fn parse(file: BrandFile, navigation: Option<Vec<NavPage>>) -> Result<Self, BrandError> {
        let default = Self::default();
        let text = |setting: &str, value: Option<String>, fallback: String, max: usize| {
            let value = value.map_or(fallback, |v| v.trim().to_owned());
            let chars = value.chars().count();
            if chars == 0 || chars > max || value.chars().any(char::is_control) {
                return Err(BrandError(format!(
                    "[brand] {setting}: 1 to {max} characters, no control characters"
                )));
            }
            Ok(value)
        };
        let name = text("name", file.name, default.name, 40)?;
        let tagline = text("tagline", file.tagline, default.tagline, 120)?;
        let navigation = navigation.unwrap_or(default.navigation);
        if navigation.first() != Some(&NavPage::Dashboard) {
            return Err(BrandError(
                "[navigation] pages: must start with \"dashboard\" (where signing in leads)".into(),
            ));
        }
        if let Some(twice) = navigation
            .iter()
            .enumerate()
            .find(|(n, p)| navigation[..*n].contains(p))
        {
            return Err(BrandError(format!(
                "[navigation] pages: {:?} is named twice",
                twice.1.key()
            )));
        }
        let light = declarations("colors", &file.colors)?;
        let dark = declarations("dark_colors", &file.dark_colors)?;
        let mut stylesheet = String::new();
        // Each scheme's own: light colours in dark mode would put light backgrounds under the
        // dark scheme's light text.
        if !light.is_empty() {
            stylesheet.push_str(&format!(
                "@media not (prefers-color-scheme: dark){{:root{{{light}}}}}\n"
            ));
        }
        if !dark.is_empty() {
            stylesheet.push_str(&format!(
                "@media (prefers-color-scheme: dark){{:root{{{dark}}}}}\n"
            ));
        }
        Ok(Self {
            name,
            tagline,
            navigation,
            stylesheet: (!stylesheet.is_empty())
                .then(|| (hashed_name("brand.css", stylesheet.as_bytes()), stylesheet)),
        })
    }

    /// The product's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its one-line description.
    pub fn tagline(&self) -> &str {
        &self.tagline
    }

    /// The signed-in navigation, in order.
    pub fn navigation(&self) -> &[NavPage] {
        &self.navigation
    }

    /// The stylesheet setting its colours (after the built-in one), if it sets any.
    pub fn stylesheet(&self) -> Option<&str> {
        self.stylesheet.as_ref().map(|(_, css)| css.as_str())
    }

    /// The file name its stylesheet is served under, if it has one.
    pub(crate) fn stylesheet_name(&self) -> Option<&str> {
        self.stylesheet.as_ref().map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn colors(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_brand_sets_its_colours_for_each_scheme_in_a_stylesheet() {
        let brand = Brand::parse(
            BrandFile {
                name: Some("ShopCast".into()),
                colors: colors(&[("primary", "#2563eb"), ("link", "oklch(0.5 0.2 260)")]),
                dark_colors: colors(&[("primary-strong", "#60A5FA")]),
                ..BrandFile::default()
            },
            None,
        )
        .unwrap();

        assert_eq!(brand.name(), "ShopCast");
        assert_eq!(brand.tagline(), "social posts for online shops");
        assert_eq!(
            brand.stylesheet(),
            Some(
                "@media not (prefers-color-scheme: dark){:root{--link:oklch(0.5 0.2 260);--primary:#2563eb;}}\n\
                 @media (prefers-color-scheme: dark){:root{--primary-strong:#60A5FA;}}\n"
            )
        );
        assert!(Brand::default().stylesheet().is_none());
        let commas = Brand::parse(
            BrandFile {
                colors: colors(&[("accent", "rgb(37, 99, 235)")]),
                ..BrandFile::default()
            },
            None,
        );
        assert!(commas.is_ok(), "the commonest CSS form is a colour");
    }

    #[test]
    fn a_value_that_could_escape_its_declaration_or_an_unknown_token_is_refused() {
        for (token, value) in [
            ("primary", "red;} body{display:none"),
            ("primary", "url(https://evil.example/x)"),
            ("primary", "rgb(1 2 3);x:y"),
            ("primary", "#12345"),
            ("font", "#fff"),
        ] {
            let refused = Brand::parse(
                BrandFile {
                    colors: colors(&[(token, value)]),
                    ..BrandFile::default()
                },
                None,
            );
            assert!(refused.is_err(), "{token} = {value}");
        }
    }

    #[test]
    fn the_navigation_keeps_its_order_starts_at_the_dashboard_and_names_each_page_once() {
        let chosen = vec![NavPage::Dashboard, NavPage::Calendar, NavPage::Queue];
        let brand = Brand::parse(BrandFile::default(), Some(chosen.clone())).unwrap();
        assert_eq!(brand.navigation(), chosen.as_slice());
        for bad in [
            vec![NavPage::Queue, NavPage::Dashboard],
            vec![NavPage::Dashboard, NavPage::Queue, NavPage::Queue],
            vec![],
        ] {
            assert!(
                Brand::parse(BrandFile::default(), Some(bad.clone())).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(NavPage::ApiKeys.key(), "api-keys");
        assert_eq!(NavPage::Dashboard.key(), "dashboard");
    }
}
