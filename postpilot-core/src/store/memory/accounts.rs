//! Social accounts, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl AccountStore for MemoryStore {
    async fn connect_account(
        &self,
        account: &SocialAccount,
        limit: Limit,
    ) -> StoreResult<SocialAccount> {
        let mut t = self.tables();
        let existing = t
            .accounts
            .values()
            .find(|a| {
                a.user_id == account.user_id
                    && a.platform == account.platform
                    && a.account_id_external == account.account_id_external
            })
            .map(|a| (a.id, a.is_connected, a.created_at));
        let connected = t.connected(account.user_id).count() as u64;
        let already_counted = existing.is_some_and(|(_, is_connected, _)| is_connected);
        if !already_counted && !limit.allows_one_more(connected) {
            return Err(StoreError::LimitReached);
        }
        let stored = match existing {
            // Reconnected: the platform's cap for it is read again.
            Some((id, _, created_at)) => SocialAccount {
                id,
                created_at,
                publishing_cap: None,
                publishing_cap_read_at: None,
                ..account.clone()
            },
            None => account.clone(),
        };
        t.accounts.insert(stored.id, stored.clone());
        let counted = (!already_counted).then_some(connected);
        t.record(crate::event::connection_events(&stored, limit, counted));
        Ok(stored)
    }

    async fn set_account_tokens(
        &self,
        owner: UserId,
        id: AccountId,
        tokens: SealedTokens,
        replacing: Option<String>,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let account = t.owned_account(owner, id)?;
        // Disconnected in the meantime (its tokens stay erased), or refreshed by another.
        if !account.is_connected
            || replacing.is_some_and(|old| account.access_token_enc.as_deref() != Some(&old))
        {
            return Err(StoreError::Stale);
        }
        account.set_sealed_tokens(tokens);
        Ok(())
    }

    async fn accounts_expiring_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<SocialAccount>> {
        let t = self.tables();
        let mut due: Vec<SocialAccount> = t
            .accounts
            .values()
            .filter(|a| {
                a.is_connected
                    && !a.needs_reconnect
                    && a.token_expires_at.is_some_and(|at| at < before)
            })
            .cloned()
            .collect();
        due.sort_by_key(|a| (a.token_expires_at, a.id));
        due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(due)
    }

    async fn lease_token_refresh(
        &self,
        owner: UserId,
        id: AccountId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut t = self.tables();
        if owned(&t.accounts, owner, &id).is_none() {
            return Err(StoreError::NotFound);
        }
        match t.refresh_leases.get(&id) {
            Some(held) if *held > now => Ok(false),
            _ => {
                t.refresh_leases.insert(id, until);
                Ok(true)
            }
        }
    }

    async fn account(&self, owner: UserId, id: AccountId) -> StoreResult<Option<SocialAccount>> {
        Ok(owned(&self.tables().accounts, owner, &id).cloned())
    }

    async fn list_accounts(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<SocialAccount>> {
        let all: Vec<_> = self
            .tables()
            .accounts
            .values()
            .filter(|a| a.user_id == owner)
            .cloned()
            .collect();
        Ok(page_of(page, all, Order::OldestFirst, |a| {
            Cursor::new(a.created_at, a.id.as_uuid())
        }))
    }

    async fn disconnect_account(
        &self,
        owner: UserId,
        id: AccountId,
    ) -> StoreResult<Option<SocialAccount>> {
        let mut t = self.tables();
        let Some(account) = owned_mut(&mut t.accounts, owner, &id) else {
            return Ok(None);
        };
        account.disconnect();
        Ok(Some(account.clone()))
    }

    async fn count_connected_accounts(&self, owner: UserId) -> StoreResult<u64> {
        Ok(self.tables().connected(owner).count() as u64)
    }

    async fn disconnect_accounts_beyond(
        &self,
        owner: UserId,
        keep: u32,
    ) -> StoreResult<Vec<AccountId>> {
        let mut t = self.tables();
        let mut connected: Vec<_> = t
            .connected(owner)
            .map(|a| (a.connected_at.unwrap_or(a.created_at), a.id))
            .collect();
        connected.sort();
        let excess: Vec<AccountId> = connected
            .into_iter()
            .skip(keep as usize)
            .map(|(_, id)| id)
            .collect();
        for id in &excess {
            if let Some(a) = t.accounts.get_mut(id) {
                a.disconnect();
            }
        }
        Ok(excess)
    }

    async fn set_publishing_cap(
        &self,
        owner: UserId,
        id: AccountId,
        posts: u32,
        read_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let account = t.owned_account(owner, id)?;
        account.record_publishing_cap(posts, read_at);
        Ok(())
    }

    async fn mark_needs_reconnect(
        &self,
        owner: UserId,
        id: AccountId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let account = t.owned_account(owner, id)?;
        let newly = !account.needs_reconnect;
        account.require_reconnect();
        let account = account.clone();
        if newly {
            t.record([crate::event::account_needs_reconnect(&account, at)]);
        }
        Ok(())
    }
}
