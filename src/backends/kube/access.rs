//! Asking the API server what the console's user may do: a SelfSubjectAccessReview
//! (authorization.k8s.io/v1) per [`AccessRequest`], and who that user is: a SelfSubjectReview
//! (authentication.k8s.io/v1), falling back to the kubeconfig's user name. A question that
//! cannot be asked is answered [`AccessAnswer::Unknown`], never "allowed".

use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;

use super::clients::KubeClients;
use super::operator::{KubeOperator, describe};
use crate::operation::access::{AccessAnswer, AccessRequest};

/// How long one review may take before it counts as unanswered.
pub const REVIEW_TIMEOUT: Duration = Duration::from_secs(5);

/// The review the API server is asked for `req`.
pub fn review_for(req: &AccessRequest) -> SelfSubjectAccessReview {
    SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(req.verb.clone()),
                group: Some(req.group.clone()),
                resource: Some(req.resource.clone()),
                subresource: req.subresource.clone(),
                namespace: Some(req.namespace.clone()),
                name: req.name.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The user name the API server authenticated `client` as (SelfSubjectReview).
pub async fn whoami(client: &kube::Client) -> Result<String, String> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let (params, review) = (PostParams::default(), SelfSubjectReview::default());
    let asked = tokio::time::timeout(REVIEW_TIMEOUT, api.create(&params, &review));
    let answer = asked.await.map_err(|_| "no answer within 5 s".to_string())?.map_err(|e| describe(&e))?;
    answer
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| "the SelfSubjectReview named no user".to_string())
}

/// Ask one question with `client` as `user`.
async fn ask(client: &kube::Client, user: &str, req: &AccessRequest) -> AccessAnswer {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let (params, review) = (PostParams::default(), review_for(req));
    let asked = tokio::time::timeout(REVIEW_TIMEOUT, api.create(&params, &review));
    match asked.await {
        Err(_) => AccessAnswer::Unknown { error: "the API server gave no answer within 5 s".into() },
        Ok(Err(e)) => AccessAnswer::Unknown { error: describe(&e) },
        Ok(Ok(r)) => match r.status {
            Some(s) if s.allowed && !s.denied.unwrap_or(false) => AccessAnswer::Allowed { user: user.into() },
            Some(s) => AccessAnswer::Denied {
                user: user.into(),
                reason: s.reason.or(s.evaluation_error).unwrap_or_default(),
            },
            None => AccessAnswer::Unknown { error: "the review came back without a status".into() },
        },
    }
}

/// Answer every request with the client of its context, one answer per request, in order.
pub async fn check_access(clients: &KubeClients, requests: &[AccessRequest]) -> Vec<AccessAnswer> {
    join_all(requests.iter().map(|req| async move {
        let client = match clients.get(&req.context) {
            Ok(c) => c,
            Err(error) => return AccessAnswer::Unknown { error },
        };
        let user = match whoami(client).await {
            Ok(user) => user,
            Err(e) => match clients.user_name(&req.context) {
                // The reviews themselves still decide; the name is only for the message.
                Some(name) => {
                    tracing::debug!("SelfSubjectReview in {}: {e}; naming the kubeconfig user", req.context);
                    name.to_string()
                }
                None => "unknown user".into(),
            },
        };
        ask(client, &user, req).await
    }))
    .await
}

impl KubeOperator {
    /// See [`check_access`].
    pub async fn check_access(&self, requests: &[AccessRequest]) -> Vec<AccessAnswer> {
        check_access(self.clients(), requests).await
    }
}
