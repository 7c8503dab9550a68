//! Errors as the API answers them: a status and `{"error": {"code", "message", …}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{HeaderValue, WWW_AUTHENTICATE};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use workstream::{Error, StoreError};

/// An answer other than success: its status, a stable code, a message for people, and for a
/// refusal every reason.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    fn with(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let message = error.to_string();
        match error {
            Error::Refused(refused) => {
                Self::new(StatusCode::CONFLICT, "refused", message).with(json!({
                    "action": refused.action,
                    "reasons": refused.reasons,
                    "item": refused.item,
                }))
            }
            Error::BatchRefused(_) => Self::new(StatusCode::CONFLICT, "refused", message),
            Error::Conflict { .. } => Self::new(StatusCode::CONFLICT, "conflict", message),
            Error::NotFound(_) => Self::not_found(message),
            Error::Store(StoreError::Busy { .. }) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
            }
            Error::Store(StoreError::Unavailable { .. }) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            Error::Store(StoreError::Conflict { .. }) => {
                Self::new(StatusCode::CONFLICT, "conflict", message)
            }
            Error::Store(StoreError::FeedAhead { .. }) => {
                Self::new(StatusCode::BAD_REQUEST, "feed_ahead", message)
            }
            Error::Store(_) | Error::Verify(_) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "store", message)
            }
            // Unknown workflows, transitions, workstations and holds, fields that are not an
            // object, values nested too deep: the request names something that is not there.
            _ => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let (Some(Value::Object(extra)), Some(map)) = (self.extra, body.as_object_mut()) {
            map.extend(extra);
        }
        let mut response = (self.status, Json(json!({ "error": body }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
