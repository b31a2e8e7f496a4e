//! What a change of a product in the shop means for the posts advertising it: a post that would
//! now state a wrong price, link a moved page, or sell what is sold out is held back (paused)
//! until its merchant looks at it.

use serde::Deserialize;

use crate::caption::Price;
use crate::names::named_enum;
use crate::post::ProductSnapshot;

/// What a merchant lets a product change pause: each merchant's setting (`pause_on`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PauseOn {
    /// A new price or a moved page, and selling out (the default).
    #[default]
    Both,
    /// A new price or a moved page only.
    Price,
    /// Selling out only.
    Stock,
    /// Nothing: product events pause no post (a deleted product neither).
    Off,
}

named_enum!(PauseOn, field = "pause_on", exact {
    Both => "both",
    Price => "price",
    Stock => "stock",
    Off => "off",
});

impl PauseOn {
    const fn price(self) -> bool {
        matches!(self, Self::Both | Self::Price)
    }

    const fn stock(self) -> bool {
        matches!(self, Self::Both | Self::Stock)
    }
}

/// A product as the platform's `product.updated` event states it now; a field left out did
/// not change (or is not known to the shop). Fields PostPilot does not compare (a description,
/// images) are accepted and ignored: a shop sending more than this must not have its events
/// refused and retried forever.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ProductState {
    /// The shop's id of the product.
    pub id: String,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
    /// Its price.
    #[serde(default)]
    pub price: Option<Price>,
    /// Its price before a discount.
    #[serde(default)]
    pub compare_at_price: Option<Price>,
    /// The currency of both prices (ISO 4217).
    #[serde(default)]
    pub currency: Option<String>,
    /// Units in stock (zero or less: sold out).
    #[serde(default, deserialize_with = "crate::caption::whole_number")]
    pub stock: Option<i64>,
    /// Its page.
    #[serde(default)]
    pub url: Option<String>,
}

/// Why a post made from `before` must wait now that its product is `now`, if it must under
/// `rule`: its price changed or its page moved (`price`), or it sold out — stock at zero or
/// less, when it was not before (`stock`).
pub fn pause_reason(before: &ProductSnapshot, now: &ProductState, rule: PauseOn) -> Option<String> {
    let money = |price: Option<Price>| price.map_or_else(|| "none".to_owned(), |p| p.to_string());
    if rule.price() && now.price.is_some() && now.price != before.price {
        return Some(format!(
            "the product's price changed from {} to {}",
            money(before.price),
            money(now.price)
        ));
    }
    if rule.price()
        && now.compare_at_price.is_some()
        && now.compare_at_price != before.compare_at_price
    {
        return Some(format!(
            "the product's price before the discount changed from {} to {}",
            money(before.compare_at_price),
            money(now.compare_at_price)
        ));
    }
    let currency = now.currency.as_deref().map(str::to_ascii_uppercase);
    if rule.price() && currency.is_some() && currency != before.currency {
        return Some("the product's currency changed".to_owned());
    }
    if rule.price() && now.url.is_some() && now.url != before.url {
        return Some("the product's page moved".to_owned());
    }
    let sold_out = |stock: Option<i64>| stock.is_some_and(|s| s <= 0);
    if rule.stock() && sold_out(now.stock) && !sold_out(before.stock) {
        return Some("the product sold out".to_owned());
    }
    None
}

/// The snapshot `before` brought up to date with `now` (the fields it states), so a post that
/// was paused for a change and then resumed is compared with what its merchant saw, not paused
/// again for the same change.
pub fn updated_snapshot(before: &ProductSnapshot, now: &ProductState) -> ProductSnapshot {
    ProductSnapshot {
        id: before.id.clone(),
        title: now.title.clone().unwrap_or_else(|| before.title.clone()),
        price: now.price.or(before.price),
        compare_at_price: now.compare_at_price.or(before.compare_at_price),
        currency: now
            .currency
            .as_deref()
            .map(str::to_ascii_uppercase)
            .or_else(|| before.currency.clone()),
        stock: now.stock.or(before.stock),
        url: now.url.clone().or_else(|| before.url.clone()),
    }
}

/// Why a post of a product the shop deleted must wait.
pub const DELETED_REASON: &str = "the product was deleted from the shop";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn snapshot() -> ProductSnapshot {
        ProductSnapshot {
            id: Some("sku-1".into()),
            title: "Lamp".into(),
            price: Price::from_cents(3_400).ok(),
            compare_at_price: None,
            currency: Some("EUR".into()),
            stock: Some(5),
            url: Some("https://shop.example.com/lamp".into()),
        }
    }

    fn state(change: impl FnOnce(&mut ProductState)) -> ProductState {
        let mut now = ProductState {
            id: "sku-1".into(),
            ..ProductState::default()
        };
        change(&mut now);
        now
    }

    #[test]
    fn a_new_price_a_moved_page_or_running_out_pauses_and_nothing_else_does() {
        let before = snapshot();
        let price = state(|s| s.price = Price::from_cents(2_900).ok());
        assert_eq!(
            pause_reason(&before, &price, PauseOn::Both).as_deref(),
            Some("the product's price changed from 34.00 to 29.00")
        );
        let page = state(|s| s.url = Some("https://shop.example.com/lamp-v2".into()));
        assert_eq!(
            pause_reason(&before, &page, PauseOn::Both).as_deref(),
            Some("the product's page moved")
        );
        let discount_over = state(|s| s.compare_at_price = Price::from_cents(3_900).ok());
        assert!(pause_reason(&before, &discount_over, PauseOn::Price).is_some());
        let sold_out = state(|s| s.stock = Some(0));
        assert_eq!(
            pause_reason(&before, &sold_out, PauseOn::Both).as_deref(),
            Some("the product sold out")
        );
        for unchanged in [
            state(|_| {}),
            state(|s| s.price = Price::from_cents(3_400).ok()),
            state(|s| s.stock = Some(2)),
            state(|s| s.title = Some("Lamp, new photos".into())),
            state(|s| s.currency = Some("eur".into())),
        ] {
            assert_eq!(
                pause_reason(&before, &unchanged, PauseOn::Both),
                None,
                "{unchanged:?}"
            );
        }
        let already_out = ProductSnapshot {
            stock: Some(0),
            ..snapshot()
        };
        assert_eq!(
            pause_reason(&already_out, &sold_out, PauseOn::Both),
            None,
            "it was sold out already"
        );
    }

    #[test]
    fn a_merchants_setting_chooses_which_changes_pause() {
        let before = snapshot();
        let price = state(|s| s.price = Price::from_cents(2_900).ok());
        let sold_out = state(|s| s.stock = Some(-1));
        let paused = |now: &ProductState, rule| pause_reason(&before, now, rule).is_some();
        assert!(paused(&price, PauseOn::Price) && !paused(&sold_out, PauseOn::Price));
        assert!(!paused(&price, PauseOn::Stock) && paused(&sold_out, PauseOn::Stock));
        assert!(!paused(&price, PauseOn::Off) && !paused(&sold_out, PauseOn::Off));
        assert_eq!("stock".parse::<PauseOn>().unwrap(), PauseOn::Stock);
        assert!("never".parse::<PauseOn>().is_err());
    }

    #[test]
    fn a_paused_posts_snapshot_takes_the_change_so_the_same_change_does_not_pause_it_again() {
        let before = snapshot();
        let cheaper = state(|s| {
            s.price = Price::from_cents(2_900).ok();
            s.stock = Some(0);
        });
        let updated = updated_snapshot(&before, &cheaper);
        assert_eq!(updated.price, Price::from_cents(2_900).ok());
        assert_eq!(
            (updated.stock, updated.url.as_deref()),
            (Some(0), before.url.as_deref())
        );
        assert_eq!(pause_reason(&updated, &cheaper, PauseOn::Both), None);
        let unknown_fields: ProductState = serde_json::from_value(serde_json::json!({
            "id": "sku-1", "price": 29.0, "description": "new copy", "image_urls": []
        }))
        .unwrap();
        assert_eq!(unknown_fields.price, Price::from_cents(2_900).ok());
    }
}
