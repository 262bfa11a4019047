//! The discovery documents (RFC 7643 §5–§7, RFC 7644 §4): `/ServiceProviderConfig`,
//! `/Schemas`, `/ResourceTypes`. Every schema and resource type document is generated from the
//! [`Registry`] (never hand-written JSON), so what discovery advertises is what validation,
//! filters and PATCH enforce. Entra's rules for them (ENTRA §3): `/Schemas` is a
//! `ListResponse`, characteristic values are camelCase, and no value is `null`.
//!
//! `base_url` is the tenant's SCIM base URL without a trailing slash (a trailing slash is
//! tolerated); `meta.location` values are built from it.

use crate::list::ListResponse;
use crate::schema::Registry;
use crate::{Result, ScimError};
use serde_json::{Map, Value, json};

/// URN of the `ServiceProviderConfig` schema.
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// What the service provider supports, as advertised by `/ServiceProviderConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Human-readable help for administrators (`documentationUri`), omitted when `None`.
    pub documentation_uri: Option<String>,
    /// Page size cap (`filter.maxResults`).
    pub max_results: u32,
    /// Largest accepted request body in bytes (`bulk.maxPayloadSize`).
    pub max_payload_bytes: u64,
    /// Most operations in one bulk request (`bulk.maxOperations`).
    pub max_operations: u32,
    /// `bulk.supported` (Entra does not use `/Bulk`, ENTRA §7).
    pub bulk_supported: bool,
    /// `etag.supported`.
    pub etag: bool,
    /// `sort.supported`.
    pub sort: bool,
    /// `patch.supported`.
    pub patch: bool,
    /// `filter.supported`.
    pub filter: bool,
    /// `changePassword.supported` (passwords are never stored).
    pub change_password: bool,
}

impl Default for ProviderConfig {
    /// What BlogIn supports: PATCH, filters (200 per page), sorting and ETags; no bulk, no
    /// password changes; 1 MiB bodies, 1000 bulk operations.
    fn default() -> Self {
        Self {
            documentation_uri: None,
            max_results: 200,
            max_payload_bytes: 1_048_576,
            max_operations: 1000,
            bulk_supported: false,
            etag: true,
            sort: true,
            patch: true,
            filter: true,
            change_password: false,
        }
    }
}

/// The `/ServiceProviderConfig` document. Authentication is one OAuth bearer token per tenant
/// (RFC 6750), the scheme Entra uses (ENTRA §2).
pub fn service_provider_config(cfg: &ProviderConfig, base_url: &str) -> Value {
    let base = base_url.trim_end_matches('/');
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([SERVICE_PROVIDER_CONFIG]));
    if let Some(uri) = &cfg.documentation_uri {
        doc.insert("documentationUri".into(), json!(uri));
    }
    doc.insert("patch".into(), json!({ "supported": cfg.patch }));
    doc.insert(
        "bulk".into(),
        json!({
            "supported": cfg.bulk_supported,
            "maxOperations": cfg.max_operations,
            "maxPayloadSize": cfg.max_payload_bytes,
        }),
    );
    doc.insert(
        "filter".into(),
        json!({ "supported": cfg.filter, "maxResults": cfg.max_results }),
    );
    doc.insert(
        "changePassword".into(),
        json!({ "supported": cfg.change_password }),
    );
    doc.insert("sort".into(), json!({ "supported": cfg.sort }));
    doc.insert("etag".into(), json!({ "supported": cfg.etag }));
    let mut scheme = Map::new();
    scheme.insert("type".into(), json!("oauthbearertoken"));
    scheme.insert("name".into(), json!("OAuth Bearer Token"));
    scheme.insert(
        "description".into(),
        json!("Authentication with the tenant's bearer token in the Authorization header"),
    );
    scheme.insert(
        "specUri".into(),
        json!("https://www.rfc-editor.org/info/rfc6750"),
    );
    if let Some(uri) = &cfg.documentation_uri {
        scheme.insert("documentationUri".into(), json!(uri));
    }
    scheme.insert("primary".into(), json!(true));
    doc.insert(
        "authenticationSchemes".into(),
        json!([Value::Object(scheme)]),
    );
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        }),
    );
    Value::Object(doc)
}

/// The `/Schemas` document: a `ListResponse` of every registered schema.
pub fn schemas_document(registry: &Registry, base_url: &str) -> Value {
    let base = base_url.trim_end_matches('/');
    let docs = registry
        .schemas()
        .iter()
        .map(|s| s.to_json(&format!("{base}/Schemas/{}", s.id)))
        .collect();
    ListResponse::complete(docs).to_json()
}

/// The `/Schemas/{id}` document; the URN matches case-insensitively. An unknown URN is `404`.
pub fn schema_document(registry: &Registry, id: &str, base_url: &str) -> Result<Value> {
    let base = base_url.trim_end_matches('/');
    let schema = registry
        .schema(id)
        .ok_or_else(|| ScimError::not_found(format!("schema '{id}' not found")))?;
    Ok(schema.to_json(&format!("{base}/Schemas/{}", schema.id)))
}

/// The `/ResourceTypes` document: a `ListResponse` of every resource type.
pub fn resource_types_document(registry: &Registry, base_url: &str) -> Value {
    let base = base_url.trim_end_matches('/');
    let docs = registry
        .resource_types()
        .iter()
        .map(|rt| rt.to_json(base))
        .collect();
    ListResponse::complete(docs).to_json()
}

/// The `/ResourceTypes/{name}` document (`User`, `Group`; case-insensitive). Unknown is `404`.
pub fn resource_type_document(registry: &Registry, name: &str, base_url: &str) -> Result<Value> {
    let base = base_url.trim_end_matches('/');
    registry
        .resource_types()
        .iter()
        .find(|rt| rt.kind.name().eq_ignore_ascii_case(name))
        .map(|rt| rt.to_json(base))
        .ok_or_else(|| ScimError::not_found(format!("resource type '{name}' not found")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::LIST_RESPONSE;
    use crate::schema::{ENTERPRISE_USER, GROUP, ResourceKind, Schema, USER};
    use pretty_assertions::assert_eq;

    const BASE: &str = "https://example.com/scim/v2/acme";

    fn no_nulls(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Array(a) => a.iter().all(no_nulls),
            Value::Object(o) => o.values().all(no_nulls),
            _ => true,
        }
    }

    #[test]
    fn service_provider_config_advertises_the_configured_features() {
        let doc = service_provider_config(&ProviderConfig::default(), &format!("{BASE}/"));
        assert_eq!(
            doc,
            json!({
                "schemas": [SERVICE_PROVIDER_CONFIG],
                "patch": {"supported": true},
                "bulk": {"supported": false, "maxOperations": 1000, "maxPayloadSize": 1_048_576},
                "filter": {"supported": true, "maxResults": 200},
                "changePassword": {"supported": false},
                "sort": {"supported": true},
                "etag": {"supported": true},
                "authenticationSchemes": [{
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "Authentication with the tenant's bearer token in the Authorization header",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750",
                    "primary": true
                }],
                "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{BASE}/ServiceProviderConfig")}
            })
        );
    }

    #[test]
    fn documentation_uri_appears_only_when_configured() {
        let cfg = ProviderConfig {
            documentation_uri: Some("https://help.blogin.co/scim".into()),
            max_results: 50,
            ..Default::default()
        };
        let doc = service_provider_config(&cfg, BASE);
        assert_eq!(doc["documentationUri"], "https://help.blogin.co/scim");
        assert_eq!(
            doc["authenticationSchemes"][0]["documentationUri"],
            "https://help.blogin.co/scim"
        );
        assert_eq!(doc["filter"]["maxResults"], 50);
        assert!(no_nulls(&doc));
    }

    #[test]
    fn schemas_document_is_a_list_response_of_every_schema_without_nulls() {
        let reg = Registry::new();
        let doc = schemas_document(&reg, BASE);
        assert_eq!(doc["schemas"], json!([LIST_RESPONSE]));
        assert_eq!(doc["totalResults"], 3);
        assert_eq!(doc["itemsPerPage"], 3);
        assert_eq!(doc["startIndex"], 1);
        let ids: Vec<&str> = doc["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [USER, GROUP, ENTERPRISE_USER]);
        assert!(no_nulls(&doc));
        let user = &doc["Resources"][0];
        assert_eq!(
            user["meta"],
            json!({"resourceType": "Schema", "location": format!("{BASE}/Schemas/{USER}")})
        );
        assert!(
            doc.to_string().contains("User Account"),
            "REF Postman test looks for this text"
        );
    }

    #[test]
    fn user_name_is_advertised_as_entra_expects() {
        let doc = schema_document(&Registry::new(), USER, BASE).unwrap();
        let user_name = doc["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "userName")
            .unwrap();
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(user_name["mutability"], "readWrite");
        assert_eq!(user_name["returned"], "default");
        assert_eq!(user_name["uniqueness"], "server");
    }

    #[test]
    fn schema_document_is_found_case_insensitively_and_unknown_is_404() {
        let reg = Registry::new();
        let doc = schema_document(&reg, &ENTERPRISE_USER.to_uppercase(), BASE).unwrap();
        assert_eq!(doc["id"], ENTERPRISE_USER);
        assert_eq!(
            doc["meta"]["location"],
            format!("{BASE}/Schemas/{ENTERPRISE_USER}")
        );
        let e = schema_document(&reg, "urn:nope", BASE).unwrap_err();
        assert_eq!(e.status(), 404);
        assert_eq!(e.scim_type(), None);
    }

    #[test]
    fn registered_custom_extensions_are_discoverable() {
        let mut reg = Registry::new();
        let urn = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
        let schema = Schema::from_json(&json!({"id": urn, "name": "Custom", "attributes": [{"name": "CustomAttribute", "type": "string"}]})).unwrap();
        reg.register_extension(ResourceKind::User, schema, false)
            .unwrap();
        let doc = schemas_document(&reg, BASE);
        assert_eq!(doc["totalResults"], 4);
        assert_eq!(doc["Resources"][3]["id"], urn);
        let rt = resource_type_document(&reg, "User", BASE).unwrap();
        assert_eq!(
            rt["schemaExtensions"],
            json!([{"schema": ENTERPRISE_USER, "required": false}, {"schema": urn, "required": false}])
        );
    }

    #[test]
    fn resource_types_document_lists_users_first_as_the_reference_tests_expect() {
        let doc = resource_types_document(&Registry::new(), BASE);
        assert_eq!(doc["totalResults"], 2);
        assert_eq!(doc["Resources"][0]["endpoint"], "/Users");
        assert_eq!(doc["Resources"][1]["endpoint"], "/Groups");
        assert_eq!(
            doc["Resources"][0]["meta"]["location"],
            format!("{BASE}/ResourceTypes/User")
        );
        assert!(no_nulls(&doc));
    }

    #[test]
    fn resource_type_document_is_found_case_insensitively_and_unknown_is_404() {
        let reg = Registry::new();
        assert_eq!(
            resource_type_document(&reg, "group", BASE).unwrap()["schema"],
            GROUP
        );
        assert_eq!(
            resource_type_document(&reg, "Printers", BASE)
                .unwrap_err()
                .status(),
            404
        );
    }
}
