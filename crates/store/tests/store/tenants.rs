//! Tenants and tokens: authentication answers, revocation, rotation with grace, disabling.

use crate::both;
use crate::support::*;

both!(
    a_token_authenticates_only_its_own_enabled_tenant,
    |fx: Fixture| async move {
        let (t, token) = fx.dir.create_tenant("acme", "Acme").await.unwrap();
        assert_eq!(
            fx.dir.authenticate("acme", &token).await.unwrap(),
            Some(t.id)
        );
        assert_eq!(
            fx.dir.authenticate("tenant-a", &token).await.unwrap(),
            None,
            "another tenant's URL"
        );
        assert_eq!(
            fx.dir.authenticate("nope", &token).await.unwrap(),
            None,
            "unknown tenant"
        );
        assert_eq!(
            fx.dir.authenticate("acme", "bscim_wrong").await.unwrap(),
            None
        );
        fx.dir.set_tenant_enabled("acme", false).await.unwrap();
        assert_eq!(
            fx.dir.authenticate("acme", &token).await.unwrap(),
            None,
            "disabled tenant"
        );
        fx.dir.set_tenant_enabled("acme", true).await.unwrap();
        assert_eq!(fx.dir.revoke_tokens("acme").await.unwrap(), 1);
        assert_eq!(
            fx.dir.authenticate("acme", &token).await.unwrap(),
            None,
            "revoked"
        );
    }
);

both!(
    rotation_keeps_the_old_token_for_the_grace_period_only,
    |fx: Fixture| async move {
        let (_, old) = fx.dir.create_tenant("rot", "").await.unwrap();
        let new = fx
            .dir
            .issue_token("rot", true, chrono::Duration::hours(1))
            .await
            .unwrap();
        assert!(fx.dir.authenticate("rot", &old).await.unwrap().is_some());
        assert!(fx.dir.authenticate("rot", &new).await.unwrap().is_some());
        let newest = fx
            .dir
            .issue_token("rot", true, chrono::Duration::zero())
            .await
            .unwrap();
        assert!(fx.dir.authenticate("rot", &old).await.unwrap().is_none());
        assert!(fx.dir.authenticate("rot", &new).await.unwrap().is_none());
        assert!(fx.dir.authenticate("rot", &newest).await.unwrap().is_some());
    }
);

both!(
    duplicate_and_malformed_slugs_are_refused,
    |fx: Fixture| async move {
        assert_eq!(
            status_of(fx.dir.create_tenant("tenant-a", "").await.unwrap_err()),
            409
        );
        assert_eq!(
            status_of(fx.dir.create_tenant("Bad Slug", "").await.unwrap_err()),
            400
        );
        let slugs: Vec<_> = fx
            .dir
            .list_tenants()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.slug)
            .collect();
        assert_eq!(slugs, ["tenant-a", "tenant-b"]);
    }
);
