//! `mail2sms-web`: the customer space. On Lambda (behind a function URL) it serves each request
//! through `lambda_http`; outside Lambda (no `AWS_LAMBDA_RUNTIME_API`) the same router serves
//! HTTP on `LISTEN_ADDR` (default 127.0.0.1:8080), for local use against the emulator.

use std::net::SocketAddr;
use std::sync::Arc;

use mail2sms::web::settings::{DEFAULT_LISTEN_ADDR, WebSettings, vars};
use mail2sms::web::{Space, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = WebSettings::from_env()?;
    if let Err(missing) = &settings.gateway {
        tracing::warn!(problem = %missing, "sending from the web is off: the gateway's configuration is incomplete");
    }
    let sdk = aws_config::load_from_env().await;
    let app = router(Arc::new(Space::new(settings, &sdk)));
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_http::run(app).await;
    }
    let address = std::env::var(vars::LISTEN_ADDR).ok().filter(|a| !a.trim().is_empty());
    let address = address.as_deref().unwrap_or(DEFAULT_LISTEN_ADDR);
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(address = %listener.local_addr()?, "the customer space listens (http)");
    println!("mail2sms-web: http://{}/", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
