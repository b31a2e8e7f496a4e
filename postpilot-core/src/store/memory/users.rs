//! Users, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl UserStore for MemoryStore {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let mut t = self.tables();
        ensure_absent(&t.users, &user.id, Conflict::DuplicateId)?;
        t.check_user_unique(user)?;
        t.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.tables().users.get(&id).cloned())
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        Ok(self
            .tables()
            .users
            .values()
            .find(|u| &u.email == email)
            .cloned())
    }

    async fn user_by_external_id(
        &self,
        external_platform_id: uuid::Uuid,
    ) -> StoreResult<Option<User>> {
        Ok(self
            .tables()
            .users
            .values()
            .find(|u| u.external_platform_id == Some(external_platform_id))
            .cloned())
    }

    async fn change_user(&self, id: UserId, change: &UserChange) -> StoreResult<User> {
        let mut t = self.tables();
        let mut user = t.users.get(&id).cloned().ok_or(StoreError::NotFound)?;
        if let Some(email) = &change.email {
            user.email = email.clone();
        }
        if let Some(hash) = &change.password_hash {
            user.password_hash = hash.clone();
        }
        if let Some(customer) = &change.stripe_customer_id {
            user.stripe_customer_id = Some(customer.clone());
        }
        if let Some(link) = change.link_platform {
            if user
                .external_platform_id
                .is_some_and(|linked| linked != link.external_platform_id)
            {
                return Err(StoreError::Stale);
            }
            user.external_platform_id = Some(link.external_platform_id);
            if link.external_store_id.is_some() {
                user.external_store_id = link.external_store_id;
            }
        }
        if let Some(rule) = change.pause_on {
            user.pause_on = rule;
        }
        if let Some(zone) = change.time_zone {
            user.time_zone = zone;
        }
        if change.end_sessions {
            user.session_epoch += 1;
        }
        user.updated_at = change.updated_at;
        t.check_user_unique(&user)?;
        t.users.insert(id, user.clone());
        Ok(user)
    }
}
