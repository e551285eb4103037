//! The pod exec call of [`super::Operation::ExecPromote`]: the command (argv, no shell) and
//! the request line the preview shows and the Kubernetes backend sends.

/// The command `ExecPromote` runs in the pod: `pg_ctl promote -D <data_dir>` (argv, no shell).
pub fn pg_ctl_promote_argv(data_dir: &str) -> Vec<String> {
    ["pg_ctl", "promote", "-D", data_dir].iter().map(|s| s.to_string()).collect()
}

/// The exec request as the client sends it (a WebSocket upgrade of a GET, offering
/// `v5.channel.k8s.io` and `v4.channel.k8s.io`), with the query values shown unencoded.
pub fn exec_request_line(namespace: &str, pod: &str, container: Option<&str>, argv: &[String]) -> String {
    let mut query = vec!["stdout=true".to_string(), "stderr=true".to_string()];
    if let Some(c) = container {
        query.push(format!("container={c}"));
    }
    query.extend(argv.iter().map(|a| format!("command={a}")));
    format!("GET /api/v1/namespaces/{namespace}/pods/{pod}/exec?{}", query.join("&"))
}
