//! The product a post advertises, as it was when the post was made from its queue item: what a
//! later `product.updated` event is compared with (a changed price or page, stock run out).

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::caption::{Price, ProductData, ProductDataWire};

/// A post's product, frozen when the post was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSnapshot {
    /// The shop's id of the product, when the product data had one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    /// Its title.
    pub title: String,
    /// Its price.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub price: Option<Price>,
    /// Its price before a discount.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub compare_at_price: Option<Price>,
    /// The currency of both prices.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub currency: Option<String>,
    /// Units in stock (zero or less: sold out).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stock: Option<i64>,
    /// Its page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
}

impl ProductSnapshot {
    /// The snapshot of `product` now.
    pub fn of(product: &ProductData) -> Self {
        Self {
            id: product.id().map(str::to_owned),
            title: product.title().to_owned(),
            price: product.price(),
            compare_at_price: product.compare_at_price(),
            currency: product.currency().map(str::to_owned),
            stock: product.stock(),
            url: product.url().map(str::to_owned),
        }
    }

    /// `product` as this snapshot says it is now: its id, title, prices, currency, stock and
    /// page from the snapshot, the rest (description, features, images, tags, shop) as given.
    ///
    /// # Errors
    /// The two do not make a valid product (a snapshot stored by another version).
    pub fn laid_over(&self, product: &ProductData) -> Result<ProductData, ValidationError> {
        ProductData::parse(ProductDataWire {
            id: self.id.clone().or_else(|| product.id().map(str::to_owned)),
            title: self.title.clone(),
            description: product.description().map(str::to_owned),
            price: self.price,
            currency: self.currency.clone(),
            compare_at_price: self.compare_at_price,
            url: self.url.clone(),
            image_urls: product.image_urls().to_vec(),
            features: product.features().to_vec(),
            tags: product.tags().to_vec(),
            store_name: product.store_name().map(str::to_owned),
            stock: self.stock,
        })
    }
}
