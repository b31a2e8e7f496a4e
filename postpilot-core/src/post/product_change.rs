//! What a change of a product in the shop means for the posts advertising it: a post that would
//! now state a wrong price, link a moved page, or sell what is sold out is held back (paused)
//! until its merchant looks at it.

use serde::Deserialize;

use crate::caption::Price;
use crate::post::ProductSnapshot;

/// A product as the platform's `product.updated` event states it now; a field left out did
/// not change (or is not known to the shop).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Units in stock (zero or less: sold out).
    #[serde(default)]
    pub stock: Option<i64>,
    /// Its page.
    #[serde(default)]
    pub url: Option<String>,
}

/// Why a post made from `before` must wait now that its product is `now`, if it must: its price
/// changed, its page moved, or it sold out (stock at zero or less, when it was not before).
pub fn pause_reason(before: &ProductSnapshot, now: &ProductState) -> Option<String> {
    let money = |price: Option<Price>| price.map_or_else(|| "none".to_owned(), |p| p.to_string());
    if now.price.is_some() && now.price != before.price {
        return Some(format!(
            "the product's price changed from {} to {}",
            money(before.price),
            money(now.price)
        ));
    }
    if now.url.is_some() && now.url != before.url {
        return Some("the product's page moved".to_owned());
    }
    let sold_out = |stock: Option<i64>| stock.is_some_and(|s| s <= 0);
    if sold_out(now.stock) && !sold_out(before.stock) {
        return Some("the product sold out".to_owned());
    }
    None
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
            pause_reason(&before, &price).as_deref(),
            Some("the product's price changed from 34.00 to 29.00")
        );
        let page = state(|s| s.url = Some("https://shop.example.com/lamp-v2".into()));
        assert_eq!(
            pause_reason(&before, &page).as_deref(),
            Some("the product's page moved")
        );
        let sold_out = state(|s| s.stock = Some(0));
        assert_eq!(
            pause_reason(&before, &sold_out).as_deref(),
            Some("the product sold out")
        );
        for unchanged in [
            state(|_| {}),
            state(|s| s.price = Price::from_cents(3_400).ok()),
            state(|s| s.stock = Some(2)),
            state(|s| s.title = Some("Lamp, new photos".into())),
        ] {
            assert_eq!(pause_reason(&before, &unchanged), None, "{unchanged:?}");
        }
        let already_out = ProductSnapshot {
            stock: Some(0),
            ..snapshot()
        };
        assert_eq!(
            pause_reason(&already_out, &sold_out),
            None,
            "it was sold out already"
        );
    }
}
