//! The core store conformance suite against PostgreSQL: every contract on its own fresh,
//! migrated database.

use std::sync::Arc;

use postpilot_core::store::Store;

async fn pg_store() -> Arc<dyn Store> {
    Arc::new(postpilot_sqlx::testing::fresh_store().await)
}

postpilot_core::store_conformance_tests!(pg_store);
