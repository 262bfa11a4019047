//! The SCIM HTTP gateway (being written).
