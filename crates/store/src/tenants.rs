//! Tenants and their tokens: create, list, enable/disable, issue/rotate/revoke, authenticate.

use crate::directory::{Directory, begin_write, now};
use crate::entity::{tenant, tenant_token};
use crate::error::{StoreError, StoreResult};
use crate::tokens;
use chrono::{DateTime, Utc};
use scim::ScimError;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, SqlErr};
use uuid::Uuid;

/// A tenant as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantInfo {
    /// Tenant id.
    pub id: Uuid,
    /// URL slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Whether provisioning is on.
    pub provisioning_enabled: bool,
    /// Creation time.
    pub created: DateTime<Utc>,
}

impl From<tenant::Model> for TenantInfo {
    fn from(m: tenant::Model) -> Self {
        Self {
            id: m.id,
            slug: m.slug,
            name: m.name,
            provisioning_enabled: m.provisioning_enabled,
            created: m.created,
        }
    }
}

/// Whether `slug` can be a URL path segment: 1–63 of `a-z 0-9 -`, not starting with `-`.
pub fn valid_slug(slug: &str) -> bool {
    (1..=63).contains(&slug.len())
        && !slug.starts_with('-')
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Directory {
    /// Creates a tenant with provisioning on and issues its first token (returned once).
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "insert tenant"))]
    pub async fn create_tenant(&self, slug: &str, name: &str) -> StoreResult<(TenantInfo, String)> {
        if !valid_slug(slug) {
            return Err(ScimError::invalid_value(
                "a tenant slug is 1-63 characters of a-z, 0-9 and '-'",
            )
            .into());
        }
        let _guard = self.write_guard().await;
        let txn = begin_write(&self.db).await?;
        let model = tenant::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(slug.to_owned()),
            name: Set(if name.is_empty() {
                slug.to_owned()
            } else {
                name.to_owned()
            }),
            provisioning_enabled: Set(true),
            created: Set(now()),
        };
        let inserted = tenant::Entity::insert(model.clone())
            .exec_without_returning(&txn)
            .await;
        if let Err(e) = inserted {
            return Err(match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    ScimError::uniqueness(format!("tenant '{slug}' already exists")).into()
                }
                _ => e.into(),
            });
        }
        let id = model.id.clone().unwrap();
        let token = insert_token(&txn, id).await?;
        txn.commit().await?;
        let info = tenant::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::Corrupt("tenant vanished".into()))?;
        Ok((info.into(), token))
    }

    /// Every tenant, by slug.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "select tenants"))]
    pub async fn list_tenants(&self) -> StoreResult<Vec<TenantInfo>> {
        let rows = tenant::Entity::find()
            .order_by_asc(tenant::Column::Slug)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The tenant with this slug.
    pub async fn tenant(&self, slug: &str) -> StoreResult<TenantInfo> {
        tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug))
            .one(&self.db)
            .await?
            .map(Into::into)
            .ok_or_else(|| ScimError::not_found(format!("tenant '{slug}' does not exist")).into())
    }

    /// Switches provisioning on or off.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "update tenant"))]
    pub async fn set_tenant_enabled(&self, slug: &str, enabled: bool) -> StoreResult<TenantInfo> {
        let t = self.tenant(slug).await?;
        let _guard = self.write_guard().await;
        tenant::Entity::update_many()
            .col_expr(tenant::Column::ProvisioningEnabled, Expr::value(enabled))
            .filter(tenant::Column::Id.eq(t.id))
            .exec(&self.db)
            .await?;
        Ok(TenantInfo {
            provisioning_enabled: enabled,
            ..t
        })
    }

    /// Issues a new token. With `rotate`, the tenant's other live tokens expire after
    /// `grace` (so the identity provider can be switched over without an outage).
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "insert token"))]
    pub async fn issue_token(
        &self,
        slug: &str,
        rotate: bool,
        grace: chrono::Duration,
    ) -> StoreResult<String> {
        let t = self.tenant(slug).await?;
        let _guard = self.write_guard().await;
        let txn = begin_write(&self.db).await?;
        if rotate {
            let until = now() + grace;
            tenant_token::Entity::update_many()
                .col_expr(tenant_token::Column::Expires, Expr::value(until))
                .filter(tenant_token::Column::TenantId.eq(t.id))
                .filter(tenant_token::Column::Revoked.eq(false))
                .filter(
                    tenant_token::Column::Expires
                        .is_null()
                        .or(tenant_token::Column::Expires.gt(until)),
                )
                .exec(&txn)
                .await?;
        }
        let token = insert_token(&txn, t.id).await?;
        txn.commit().await?;
        Ok(token)
    }

    /// Revokes every token of the tenant at once; returns how many were live.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "update tokens"))]
    pub async fn revoke_tokens(&self, slug: &str) -> StoreResult<u64> {
        let t = self.tenant(slug).await?;
        let _guard = self.write_guard().await;
        let res = tenant_token::Entity::update_many()
            .col_expr(tenant_token::Column::Revoked, Expr::value(true))
            .filter(tenant_token::Column::TenantId.eq(t.id))
            .filter(tenant_token::Column::Revoked.eq(false))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected)
    }

    /// The tenant id when `token` is a live token of the enabled tenant `slug`; `None` for
    /// every other case alike (unknown tenant, wrong/revoked/expired token, disabled tenant),
    /// so callers cannot leak which one it was.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "select token"))]
    pub async fn authenticate(&self, slug: &str, token: &str) -> StoreResult<Option<Uuid>> {
        self.authenticate_hash(slug, &tokens::hash(token)).await
    }

    /// [`Directory::authenticate`] by the hex SHA-256 of the token (what gateways send).
    pub async fn authenticate_hash(&self, slug: &str, sha256: &str) -> StoreResult<Option<Uuid>> {
        let Some(row) = tenant_token::Entity::find()
            .filter(tenant_token::Column::TokenSha256.eq(sha256.to_ascii_lowercase()))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if row.revoked || row.expires.is_some_and(|e| e <= Utc::now()) {
            return Ok(None);
        }
        let tenant = tenant::Entity::find_by_id(row.tenant_id)
            .one(&self.db)
            .await?;
        Ok(tenant
            .filter(|t| t.slug == slug && t.provisioning_enabled)
            .map(|t| t.id))
    }
}

async fn insert_token(txn: &sea_orm::DatabaseTransaction, tenant_id: Uuid) -> StoreResult<String> {
    let token = tokens::generate();
    tenant_token::Entity::insert(tenant_token::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        token_sha256: Set(tokens::hash(&token)),
        prefix: Set(tokens::display_prefix(&token)),
        created: Set(now()),
        expires: Set(None),
        revoked: Set(false),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(token)
}
