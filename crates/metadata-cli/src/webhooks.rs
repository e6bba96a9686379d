//! `metadata webhooks`: one endpoint's webhooks, delivered until SIGTERM or Ctrl-C.

use crate::args::WebhookArgs;
use crate::serve::stop_requested;
use crate::Failure;
use metadata_store::MetadataService;
use metadata_webhooks::{Deliverer, Endpoint, Headers, Secret};
use std::time::Duration;

/// Delivers until a stop is asked for (exit 0) or the endpoint answers 410 (an error). The
/// signing secrets come from `METADATA_WEBHOOK_SECRETS` (comma-separated `whsec_...`, each
/// message signed with all of them) and are never printed.
pub async fn deliver(service: MetadataService, args: &WebhookArgs) -> Result<(), Failure> {
    let text = std::env::var("METADATA_WEBHOOK_SECRETS").unwrap_or_default();
    let mut secrets = text.split(',').map(str::trim).filter(|s| !s.is_empty());
    let first = secrets
        .next()
        .ok_or("webhooks needs a signing secret: set METADATA_WEBHOOK_SECRETS")?;
    let mut endpoint = Endpoint::new(&args.name, &args.url, Secret::parse(first)?)
        .instance_id(&args.instance_id)
        .poll_interval(Duration::from_millis(args.poll_ms.max(1)));
    for secret in secrets {
        endpoint = endpoint.also_sign_with(Secret::parse(secret)?);
    }
    if !args.types.is_empty() {
        endpoint = endpoint.types(args.types.iter().cloned());
    }
    if args.standard_headers {
        endpoint = endpoint.headers(Headers::StandardWebhooks);
    }
    let deliverer = Deliverer::new(service, endpoint)?;
    tracing::info!(endpoint = %args.name, "delivering webhooks");
    tokio::select! {
        outcome = deliverer.run() => match outcome {
            Err(e) => Err(e.into()),
            Ok(()) => Err("delivery stopped".into()),
        },
        () = stop_requested() => Ok(()),
    }
}
