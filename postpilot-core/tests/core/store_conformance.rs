//! The store conformance suite against the in-memory store.

use std::sync::Arc;

use postpilot_core::store::{MemoryStore, Store};

async fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

postpilot_core::store_conformance_tests!(memory_store);
