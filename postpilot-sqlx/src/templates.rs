//! Caption templates.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postpilot_core::caption::Tone;
use postpilot_core::id::{TemplateId, UserId};
use postpilot_core::page::{Order, Page, PageRequest};
use postpilot_core::platform::Platform;
use postpilot_core::store::{StoreError, StoreResult, TemplateStore};
use postpilot_core::template::{CaptionTemplate, CaptionTemplateRecord, TemplateBody};
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use uuid::Uuid;

use crate::PgStore;
use crate::error::store_error;
use crate::fetch::{Positioned, fetch_owned, fetch_page, on_owned_row};
use crate::status::{PlatformSql, ToneSql, mirrors};

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    body: String,
    platforms: Vec<PlatformSql>,
    tone: Option<ToneSql>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<TemplateRow> for CaptionTemplate {
    type Error = StoreError;
    fn try_from(r: TemplateRow) -> Result<Self, StoreError> {
        Ok(CaptionTemplateRecord {
            id: TemplateId::from(r.id),
            user_id: UserId::from(r.user_id),
            name: r.name,
            body: TemplateBody::from_stored(r.body),
            platforms: r.platforms.into_iter().map(Platform::from).collect(),
            tone: r.tone.map(Tone::from),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
        .into())
    }
}

macro_rules! template_columns {
    () => {
        "id, user_id, name, body, platforms, tone, updated_at, created_at"
    };
}

/// Binds, after what `query` has bound, the fields a write sets: `name`, `body`, `platforms`,
/// `tone` and `updated_at`, in that order.
fn bind_fields<'q>(
    query: Query<'q, Postgres, PgArguments>,
    template: &'q CaptionTemplate,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(template.name())
        .bind(template.body().as_ref())
        .bind(mirrors::<_, PlatformSql>(template.platforms()))
        .bind(template.tone().map(ToneSql::from))
        .bind(template.updated_at())
}

#[async_trait]
impl TemplateStore for PgStore {
    async fn insert_template(&self, template: &CaptionTemplate) -> StoreResult<()> {
        let query = sqlx::query(concat!(
            "INSERT INTO caption_templates (",
            template_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(template.id().as_uuid())
        .bind(template.user_id().as_uuid());
        bind_fields(query, template)
            .bind(template.created_at())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn template(
        &self,
        owner: UserId,
        id: TemplateId,
    ) -> StoreResult<Option<CaptionTemplate>> {
        let sql = concat!(
            "SELECT ",
            template_columns!(),
            " FROM caption_templates WHERE id = $1 AND user_id = $2"
        );
        fetch_owned::<TemplateRow, _>(&self.pool, sql, id.as_uuid(), owner).await
    }

    async fn list_templates(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<CaptionTemplate>> {
        fetch_page(
            &self.pool,
            "caption_templates",
            page,
            Order::OldestFirst,
            sqlx::query_as::<_, Positioned<TemplateRow>>(concat!(
                "SELECT ",
                template_columns!(),
                ", created_at AS page_at, id AS page_id FROM caption_templates \
                 WHERE user_id = $1 AND (created_at, id) > ($2, $3) \
                 ORDER BY created_at, id LIMIT $4 OFFSET $5"
            ))
            .bind(owner.as_uuid()),
            sqlx::query_scalar("SELECT count(*) FROM caption_templates WHERE user_id = $1")
                .bind(owner.as_uuid()),
        )
        .await
    }

    async fn update_template(&self, template: &CaptionTemplate) -> StoreResult<()> {
        let query = sqlx::query(
            "UPDATE caption_templates SET name = $3, body = $4, platforms = $5, tone = $6, \
             updated_at = $7 WHERE id = $1 AND user_id = $2",
        )
        .bind(template.id().as_uuid())
        .bind(template.user_id().as_uuid());
        let updated = bind_fields(query, template)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_template(&self, owner: UserId, id: TemplateId) -> StoreResult<bool> {
        let sql = "DELETE FROM caption_templates WHERE id = $1 AND user_id = $2";
        on_owned_row(&self.pool, sql, id.as_uuid(), owner).await
    }
}
