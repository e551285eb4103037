//! Kubernetes: pods, deployments and the database Service across one explicit kube context
//! per region, observed with watches, changed through [`KubeOperator`].
//!
//! Start with [`connect`] (or [`KubeClients::from_config`] + [`KubeObserver::start`] +
//! [`KubeOperator::new`]). Contexts are always named explicitly; the kubeconfig's
//! `current-context` is never used. [`lease`] is the Lease API the commander lock uses.

pub mod access;
mod clients;
pub mod entries;
mod exec;
pub mod lease;
mod observer;
mod operator;
pub mod rows;
pub mod server_clock;
pub mod slices;

pub use clients::{KubeClients, KubeError, configured_contexts, describe_auth};
pub use exec::{ExecOutput, exec_in_pod};
pub use observer::{KubeObserveSpec, KubeObserver};
pub use operator::{KubeOperator, scale_patch, selector_patch};

use crate::config::model::Config;

/// Build the clients of every configured context, start watching, and return the observer
/// and the operator sharing those clients. Must run inside a tokio runtime.
pub async fn connect(cfg: &Config) -> Result<(KubeObserver, KubeOperator), KubeError> {
    let clients = KubeClients::from_config(cfg).await?;
    let observer = KubeObserver::start(&clients, KubeObserveSpec::from_config(cfg));
    Ok((observer, KubeOperator::new(clients)))
}
