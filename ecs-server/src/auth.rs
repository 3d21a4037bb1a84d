//! AWS Signature Version 4: which requests are authentic.
//!
//! The verification itself (canonical request, string to sign, the HMAC chain, the
//! clock window) is `scratchstack-aws-signature`'s; this module only looks up the
//! secret of the access key a request names and maps its verdicts onto AWS's error
//! names (`UnrecognizedClientException`, `InvalidSignatureException` ...), which the aws
//! CLI and the SDKs know.

use std::str::FromStr;
use std::sync::Arc;

use axum::http::{Request, StatusCode};
use bytes::Bytes;
use scratchstack_aws_signature::{
    GetSigningKeyRequest, GetSigningKeyResponse, KSecretKey, NO_ADDITIONAL_SIGNED_HEADERS,
    SignatureError, SignatureOptions, service_for_signing_key_fn, sigv4_validate_request,
};

use crate::config::Credentials;
use crate::protocol::ApiError;

/// Checks requests' signatures against a set of access keys.
#[derive(Clone)]
pub(crate) struct Verifier {
    keys: Arc<Vec<Credentials>>,
    region: String,
}

impl Verifier {
    /// Accepts requests signed by one of `keys` for `region`.
    pub(crate) fn new(keys: Vec<Credentials>, region: String) -> Self {
        Self {
            keys: Arc::new(keys),
            region,
        }
    }

    /// Whether `request` (head and whole body) is signed by one of the keys for this
    /// region and `service`, within the clock window. The secret is never in an error.
    pub(crate) async fn verify(
        &self,
        request: Request<Bytes>,
        service: &str,
    ) -> Result<(), ApiError> {
        let keys = self.keys.clone();
        // Bound first: passed straight to `service_for_signing_key_fn` (whose bound is
        // `FnOnce`), the closure would be inferred as `FnOnce`, which a service is not.
        let find_key = move |req: GetSigningKeyRequest| {
            let known = Arc::clone(&keys);
            async move {
                let Some(key) = known.iter().find(|k| k.access_key_id == req.access_key()) else {
                    return Err(SignatureError::InvalidClientTokenId(
                        "The security token included in the request is invalid.".to_owned(),
                    )
                    .into());
                };
                let secret = KSecretKey::from_str(&key.secret_access_key)
                    .map_err(|e| SignatureError::InternalServiceError(Box::new(e)))?;
                let signing_key =
                    secret.to_ksigning(req.request_date(), req.region(), req.service());
                GetSigningKeyResponse::builder()
                    .signing_key(signing_key)
                    .build()
                    .map_err(|e| SignatureError::InternalServiceError(Box::new(e)).into())
            }
        };
        let mut lookup = service_for_signing_key_fn(find_key);
        sigv4_validate_request(
            request,
            &self.region,
            service,
            &mut lookup,
            chrono::Utc::now(),
            &NO_ADDITIONAL_SIGNED_HEADERS,
            SignatureOptions::default(),
        )
        .await
        .map(|_| ())
        .map_err(|e| match e.downcast::<SignatureError>() {
            Ok(e) => refusal(*e),
            Err(e) => ApiError::server(format!("the signature could not be checked: {e}")),
        })
    }
}

/// A signature's verdict, as AWS's JSON services name it.
fn refusal(e: SignatureError) -> ApiError {
    let message = e.to_string();
    let (code, status) = match e {
        SignatureError::InvalidClientTokenId(_) => {
            ("UnrecognizedClientException", StatusCode::FORBIDDEN)
        }
        SignatureError::SignatureDoesNotMatch(_) => {
            ("InvalidSignatureException", StatusCode::FORBIDDEN)
        }
        SignatureError::MissingAuthenticationToken(_) => {
            ("MissingAuthenticationTokenException", StatusCode::FORBIDDEN)
        }
        SignatureError::ExpiredToken(_) => ("ExpiredTokenException", StatusCode::FORBIDDEN),
        SignatureError::IO(_) | SignatureError::InternalServiceError(_) => {
            return ApiError::server(message);
        }
        _ => ("IncompleteSignatureException", StatusCode::BAD_REQUEST),
    };
    ApiError {
        code,
        status,
        message,
    }
}
