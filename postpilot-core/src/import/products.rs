//! Products imported as pending queue items: each row's product data, platforms and caption
//! checked as `POST /queue` checks them, then the new items and the report kept in one write.

use crate::ValidationError;
use crate::caption::{PlatformCaptions, Price, ProductData, ProductDataWire};
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::UserId;
use crate::import::service::{Checked, known_references, reference};
use crate::import::{Import, ImportStatus, ProductRow, RowError};
use crate::queue::{CreateQueueItem, QueueItem, QueueService, parse_platforms};
use crate::store::{Conflict, StoreError};

/// Writes an import tries when other imports keep taking its rows' references.
const REFERENCE_RACE_RETRIES: usize = 8;

/// Checks one product row: the pending item it makes, and its reference.
pub(super) fn check(
    queue: &QueueService,
    user: UserId,
    row: &ProductRow,
) -> Result<(String, QueueItem), ValidationError> {
    let product_data = ProductData::parse(ProductDataWire {
        // The row's SKU is the shop's id of the product: what its events name it by.
        id: row
            .external_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
        title: row.title.clone(),
        description: row.description.clone(),
        price: price("price", row.price.as_deref())?,
        currency: row.currency.clone(),
        compare_at_price: price("compare_at_price", row.compare_at_price.as_deref())?,
        url: row.url.clone(),
        image_urls: row.image_urls.clone(),
        features: row.features.clone(),
        tags: row.tags.clone(),
        store_name: row.store_name.clone(),
        stock: None,
    })?;
    let platforms = parse_platforms(&row.platforms)?;
    let hashtags: Vec<String> = row
        .hashtags
        .iter()
        .map(|h| h.trim_start_matches('#').to_owned())
        .collect();
    let caption = row.caption.clone().filter(|c| !c.trim().is_empty());
    // Without an id, a row is its content, as a post row is: each field named here, so that the
    // reference does not hang on how product data is serialised.
    let p = &product_data;
    let text = |t: Option<&str>| t.unwrap_or_default().to_owned();
    let cents = |price: Option<Price>| price.map(|c| c.cents().to_string()).unwrap_or_default();
    let parts = [
        p.title().to_owned(),
        text(p.description()),
        cents(p.price()),
        text(p.currency()),
        cents(p.compare_at_price()),
        text(p.url()),
        p.image_urls().join(" "),
        p.features().join("\u{1e}"),
        p.tags().join(" "),
        text(p.store_name()),
        platforms
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        caption.clone().unwrap_or_default(),
        hashtags.join(" ").to_lowercase(),
    ];
    let reference = reference("product:", row.external_id.as_deref(), &parts)?;
    let item = queue
        .build(
            user,
            CreateQueueItem {
                product_data,
                platforms,
                content: caption,
                hashtags,
                platform_captions: PlatformCaptions::default(),
            },
        )
        .map_err(|e| match e {
            Error::Validation(v) => v,
            other => ValidationError::new("row", other.to_string()),
        })?;
    Ok((reference, item))
}

/// A decimal amount, as `ProductData` takes it.
fn price(field: &'static str, amount: Option<&str>) -> Result<Option<Price>, ValidationError> {
    let Some(amount) = amount.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let amount: f64 = amount
        .parse()
        .map_err(|_| ValidationError::new(field, "must be a decimal number, like 49.90"))?;
    Price::from_decimal(amount)
        .map(Some)
        .map_err(|e| ValidationError::new(field, e.reason().to_owned()))
}

/// Creates the checked items that were not imported before, with the report, in one write
/// (all or nothing: none when a row was refused; a dry run: none); `import` ends as the report.
pub(super) async fn create(
    deps: &Deps,
    import: &mut Import,
    checked: &[Checked<QueueItem>],
    errors: Vec<RowError>,
) -> Result<()> {
    let user = import.user_id();
    for _ in 0..REFERENCE_RACE_RETRIES {
        let now = deps.now();
        let known = known_references(deps, user, checked).await?;
        let (duplicates, fresh): (Vec<_>, Vec<_>) =
            checked.iter().partition(|c| known.contains(&c.reference));
        let counts = (fresh.len(), duplicates.len());
        let mut report = import.clone();
        if report.conclude(counts, errors.clone(), now) == ImportStatus::Done {
            let items: Vec<(String, QueueItem)> = fresh
                .iter()
                .map(|c| (c.reference.clone(), c.value.clone()))
                .collect();
            match deps
                .store
                .insert_imported_items(user, &items, &report)
                .await
            {
                Ok(()) => {
                    *import = report;
                    return Ok(());
                }
                // Rows another import took meanwhile: read them again.
                Err(StoreError::Conflict(Conflict::AlreadyImported)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        deps.store.put_import(&report).await?;
        *import = report;
        return Ok(());
    }
    Err(Error::Conflict(
        "other imports kept taking the rows; try again".into(),
    ))
}
