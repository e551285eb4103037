//! `warroom init`: write a commented `warroom.toml` from what the estate shows. The kubeconfig's
//! contexts become regions (asked on a terminal, `--region CONTEXT=REGION` in scripts),
//! PostgreSQL and Redis Sentinel pods and Services in the chosen namespaces become `[postgres]`
//! and `[sentinel]`, and the weighted records of `--record` become `[route53]`. What it cannot
//! find is written as a `# not found: ...` comment, never guessed silently; it never writes a
//! secret (passwords come from the variables `password_env` names).

pub mod kube;
pub mod prompt;
pub mod render;
pub mod route53;

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use ::kube::config::Kubeconfig;
use clap::Args;

use crate::config::paths::{Environment, Paths, find_config_file};

/// `warroom init` options.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Where to write (default: --config, $WARROOM_CONFIG, then <config dir>/warroom.toml; `-`
    /// prints to stdout).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// Kubeconfig to read (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The region of a kube context (repeatable); contexts not named are not used. Without it on
    /// a terminal, init asks for each context.
    #[arg(long = "region", value_name = "CONTEXT=REGION", value_parser = parse_region)]
    pub regions: Vec<(String, String)>,
    /// A namespace to search for PostgreSQL and Redis (repeatable; default: asked, else `default`).
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// Route 53 record whose weighted record sets steer traffic between the regions.
    #[arg(long, value_name = "NAME")]
    pub record: Option<String>,
    /// Route 53 hosted zone id (default: the zone whose name is the longest suffix of --record).
    #[arg(long, value_name = "ID")]
    pub zone_id: Option<String>,
    /// Route 53 endpoint override (emulators such as moto); written as `endpoint_url`.
    #[arg(long, value_name = "URL")]
    pub route53_endpoint: Option<String>,
}

fn parse_region(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((c, r)) if !c.trim().is_empty() && !r.trim().is_empty() => {
            Ok((c.trim().to_string(), r.trim().to_string()))
        }
        _ => Err(format!("`{s}` is not CONTEXT=REGION (e.g. --region prod-east=us-east-1)")),
    }
}

/// A kube context chosen as a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionChoice {
    /// Kube context.
    pub context: String,
    /// Region name.
    pub region: String,
}

/// What the person chose: regions, namespaces, record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices {
    /// Kubeconfig path as given (`None`: standard resolution).
    pub kubeconfig: Option<String>,
    /// Contexts used as regions, in order (the first is the primary).
    pub regions: Vec<RegionChoice>,
    /// Contexts of the kubeconfig not used.
    pub skipped: Vec<String>,
    /// Namespaces searched.
    pub namespaces: Vec<String>,
    /// The namespaces were not given: `default` was searched.
    pub namespaces_defaulted: bool,
    /// Route 53 record to look up.
    pub record: Option<String>,
}

/// A usage problem: one line, exit 2.
#[derive(Debug)]
struct Usage(String);

/// `warroom init`: 0 written, 2 usage (bad flags, file exists, unreadable kubeconfig), 1 write
/// failure. Runs its own runtime (it needs no loaded configuration).
pub fn main(args: &InitArgs, config: Option<&Path>) -> i32 {
    let env = Environment::from_process();
    let out = match output_path(args, config, &env) {
        Ok(p) => p,
        Err(Usage(m)) => return usage(&m),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warroom init: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let text = match runtime.block_on(build(args)) {
        Ok(t) => t,
        Err(Usage(m)) => return usage(&m),
    };
    write_out(&out, &text, args.force)
}

fn usage(message: &str) -> i32 {
    let _ = writeln!(std::io::stderr(), "warroom init: {message}");
    2
}

/// Where the file goes; refuses an existing one without `--force`.
fn output_path(args: &InitArgs, config: Option<&Path>, env: &Environment) -> Result<Option<PathBuf>, Usage> {
    let path = match &args.output {
        Some(p) if p.as_os_str() == "-" => return Ok(None),
        Some(p) => p.clone(),
        None => match config.map(Path::to_path_buf).or_else(|| find_config_file(None, env)) {
            Some(p) => p,
            None => Paths::resolve(env, None, None)
                .default_config_file()
                .ok_or_else(|| Usage("no config directory on this platform: pass --output FILE".into()))?,
        },
    };
    if path.exists() && !args.force {
        return Err(Usage(format!(
            "{} exists: pass --force to overwrite it, or --output FILE to write elsewhere",
            path.display()
        )));
    }
    Ok(Some(path))
}

fn write_out(out: &Option<PathBuf>, text: &str, force: bool) -> i32 {
    let Some(path) = out else {
        let mut stdout = std::io::stdout().lock();
        return if stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_ok() { 0 } else { 1 };
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("warroom init: cannot create {}: {e}", dir.display());
        return 1;
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if force {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    let written = open.open(path).and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()));
    match written {
        Ok(()) => {
            println!(
                "warroom init: wrote {p}\n  check it:  warroom check --config {p}\n  then:      warroom status --config {p}",
                p = path.display()
            );
            0
        }
        Err(e) => {
            eprintln!("warroom init: cannot write {}: {e}", path.display());
            if e.kind() == std::io::ErrorKind::AlreadyExists { 2 } else { 1 }
        }
    }
}

/// Choose, discover, render.
async fn build(args: &InitArgs) -> Result<String, Usage> {
    let kubeconfig = read_kubeconfig(args.kubeconfig.as_deref())?;
    let contexts: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let interactive = std::io::stdin().is_terminal();
    let choices = choose(args, &contexts, interactive)?;
    let kube = kube::discover(&choices).await;
    let route53 = match &choices.record {
        Some(record) => Some(route53::discover(record, args, &choices.regions).await),
        None => None,
    };
    Ok(render::render(&choices, &kube, route53.as_ref()))
}

fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, Usage> {
    let read = match path {
        Some(p) => Kubeconfig::read_from(p),
        None => Kubeconfig::read(),
    };
    read.map_err(|e| {
        let shown =
            path.map_or_else(|| "$KUBECONFIG or ~/.kube/config".to_string(), |p| p.display().to_string());
        let why = crate::text::sanitize(&crate::text::redact(&e.to_string())).into_owned();
        Usage(format!("cannot read the kubeconfig {shown}: {why} (pass --kubeconfig FILE)"))
    })
}

/// Regions, namespaces and record from the flags, asking on a terminal for what is missing.
fn choose(args: &InitArgs, contexts: &[String], interactive: bool) -> Result<Choices, Usage> {
    let mut regions = Vec::new();
    for (context, region) in &args.regions {
        if !contexts.contains(context) {
            return Err(Usage(format!(
                "--region {context}={region}: the kubeconfig has no context `{context}` (it has: {})",
                contexts.join(", ")
            )));
        }
        if regions.iter().any(|r: &RegionChoice| r.region == *region || r.context == *context) {
            return Err(Usage(format!("--region {context}={region}: context or region given twice")));
        }
        regions.push(RegionChoice { context: context.clone(), region: region.clone() });
    }
    let mut namespaces = args.namespaces.clone();
    let mut record = args.record.clone();
    if args.regions.is_empty() {
        if !interactive {
            return Err(Usage(format!(
                "which kube context is which region? pass --region CONTEXT=REGION for each context to use \
                 (the kubeconfig has: {})",
                if contexts.is_empty() { "no contexts".to_string() } else { contexts.join(", ") }
            )));
        }
        let mut io = prompt::Terminal::new();
        regions = prompt::ask_regions(&mut io, contexts).map_err(|e| Usage(e.to_string()))?;
        if namespaces.is_empty() {
            namespaces = prompt::ask_namespaces(&mut io).map_err(|e| Usage(e.to_string()))?;
        }
        if record.is_none() {
            record = prompt::ask_record(&mut io).map_err(|e| Usage(e.to_string()))?;
        }
    }
    if regions.is_empty() {
        return Err(Usage("no region chosen: nothing to write".into()));
    }
    let namespaces_defaulted = namespaces.is_empty();
    if namespaces_defaulted {
        namespaces.push("default".into());
    }
    let skipped = contexts.iter().filter(|c| !regions.iter().any(|r| r.context == **c)).cloned().collect();
    Ok(Choices {
        // Absolute: the console may start from another directory.
        kubeconfig: args
            .kubeconfig
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()).display().to_string()),
        regions,
        skipped,
        namespaces,
        namespaces_defaulted,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(regions: &[(&str, &str)]) -> InitArgs {
        InitArgs {
            output: None,
            force: false,
            kubeconfig: None,
            regions: regions.iter().map(|(c, r)| (c.to_string(), r.to_string())).collect(),
            namespaces: vec![],
            record: None,
            zone_id: None,
            route53_endpoint: None,
        }
    }

    #[test]
    fn regions_come_from_flags_and_unnamed_contexts_are_skipped() {
        let contexts = vec!["east".to_string(), "west".to_string(), "decoy".to_string()];
        let c = choose(&args(&[("east", "us-east-1"), ("west", "us-west-2")]), &contexts, false).unwrap();
        assert_eq!(c.regions[0], RegionChoice { context: "east".into(), region: "us-east-1".into() });
        assert_eq!(c.regions[1].region, "us-west-2");
        assert_eq!(c.skipped, ["decoy"]);
        assert_eq!(c.namespaces, ["default"]);
        assert!(c.namespaces_defaulted);
        let mut relative = args(&[("east", "us-east-1")]);
        relative.kubeconfig = Some("kube/config".into());
        let c = choose(&relative, &contexts, false).unwrap();
        let written = PathBuf::from(c.kubeconfig.unwrap());
        assert!(written.is_absolute() && written.ends_with("kube/config"), "{written:?}");
    }

    #[test]
    fn bad_region_flags_are_usage_errors() {
        let contexts = vec!["east".to_string()];
        let e = choose(&args(&[("nope", "us-east-1")]), &contexts, false).unwrap_err();
        assert!(e.0.contains("no context `nope`") && e.0.contains("east"), "{}", e.0);
        let e = choose(&args(&[]), &contexts, false).unwrap_err();
        assert!(e.0.contains("--region CONTEXT=REGION") && e.0.contains("east"), "{}", e.0);
        assert!(parse_region("east").is_err());
        assert!(parse_region("=x").is_err());
        assert_eq!(parse_region("a=b").unwrap(), ("a".into(), "b".into()));
    }

    #[test]
    fn an_existing_file_is_refused_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("warroom.toml");
        std::fs::write(&file, "# mine\n").unwrap();
        let mut a = args(&[]);
        a.output = Some(file.clone());
        let env = Environment::default();
        let e = output_path(&a, None, &env).unwrap_err();
        assert!(e.0.contains("exists") && e.0.contains("--force"), "{}", e.0);
        a.force = true;
        assert_eq!(output_path(&a, None, &env).unwrap(), Some(file));
        a.output = Some("-".into());
        assert_eq!(output_path(&a, None, &env).unwrap(), None);
    }
}
