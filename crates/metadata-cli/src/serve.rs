//! `metadata serve`: the HTTP endpoints, health checks and metrics, with a graceful stop.

use crate::args::ServeArgs;
use crate::Failure;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metadata_core::{Filter, FrontendPrincipal, User, UserId};
use metadata_http::MetadataHttp;
use metadata_session::SessionTokens;
use metadata_store::{MetadataService, PageRequest};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::io::Write;

/// What the operational routes share.
#[derive(Clone)]
struct Ops {
    service: MetadataService,
    metrics: PrometheusHandle,
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight and returns.
pub async fn serve(service: MetadataService, args: &ServeArgs) -> Result<(), Failure> {
    let keys = secret_keys(args)?;
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    // The recorder keeps every histogram sample until upkeep drains it into its summary: without
    // a scrape, that is unbounded memory (about 20 bytes a request). Drain it every 5 s.
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let service = service.with_metrics(true);
    let mut http = MetadataHttp::new(service.clone());
    for key in keys {
        http = http.secret_key(key);
    }
    if let Some(header) = args.dev_user_header.clone() {
        tracing::warn!(
            header = %header,
            "the frontend routes trust a bare request header: for development only"
        );
        http = http.authenticator(move |parts: &axum::http::request::Parts| {
            let user = parts.headers.get(header.as_str())?.to_str().ok()?;
            Some(FrontendPrincipal::user(UserId::new(user).ok()?))
        });
    }
    if let (Some(url), Some(issuer)) = (&args.session_jwks_url, &args.session_issuer) {
        let sessions = SessionTokens::new(url, issuer)
            .map_err(|e| format!("cannot verify session tokens: {e}"))?
            .authorized_parties(args.session_authorized_parties.iter().cloned());
        http = http.authenticator(sessions);
    }
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(render_metrics))
        .with_state(Ops { service, metrics })
        .merge(http.router());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr()?;
    // The first line on standard output, for scripts that start the server on port 0.
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{address}")?;
    out.flush()?;
    drop(out);
    tracing::info!(%address, "serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(stop_requested())
        .await?;
    tracing::info!("stopped: every request in flight was answered");
    Ok(())
}

/// The backend's secret keys: from `--secret-key-file` (one per line) or
/// `METADATA_SECRET_KEYS` (comma-separated). Never printed.
fn secret_keys(args: &ServeArgs) -> Result<Vec<String>, Failure> {
    let text = match &args.secret_key_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the secret key file {}: {e}", path.display()))?,
        None => std::env::var("METADATA_SECRET_KEYS").unwrap_or_default(),
    };
    let keys: Vec<String> = text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    if keys.is_empty() {
        return Err(
            "serve needs a secret key: set METADATA_SECRET_KEYS or pass --secret-key-file".into(),
        );
    }
    Ok(keys)
}

/// 200 when the store answers a read, 503 with the error's code when it does not.
async fn ready(State(ops): State<Ops>) -> (StatusCode, String) {
    let probe = ops
        .service
        .backend()
        .list::<User>(Filter::All, PageRequest::first(1))
        .await;
    match probe {
        Ok(_) => (StatusCode::OK, "ready\n".into()),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unavailable: {}\n", e.code()),
        ),
    }
}

/// Prometheus text, with the feed's head and each cursor's lag read fresh.
async fn render_metrics(State(ops): State<Ops>) -> String {
    // A store without a feed has no head or cursors to publish.
    let _ = ops.service.feed().stats().await;
    ops.metrics.render()
}

/// Resolves on SIGTERM or Ctrl-C.
pub(crate) async fn stop_requested() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("stop requested: finishing the requests in flight");
}
