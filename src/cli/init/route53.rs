//! What `warroom init` finds in Route 53 for `--record`: the hosted zone (the longest zone name
//! the record ends with, or `--zone-id`), the record's weighted record sets and which region
//! each belongs to (SetIdentifier equal to, or containing, the region or context name).

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_route53::Client;
use aws_sdk_route53::config::Region;
use aws_sdk_route53::types::{ResourceRecordSet, RrType};

use super::kube::clean;
use super::{InitArgs, RegionChoice};
use crate::backends::route53::{
    AWS_ROUTE53_ENDPOINT, CONTROL_PLANE_REGION, describe_sdk_error, normalize_name,
};

/// A weighted record set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedSet {
    /// SetIdentifier.
    pub set_identifier: String,
    /// Weight.
    pub weight: i64,
    /// Health check id.
    pub health_check_id: Option<String>,
    /// The region it was matched to.
    pub region: Option<String>,
}

/// What was found for the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route53Findings {
    /// The record, normalized (trailing dot).
    pub record: String,
    /// Hosted zone id (without `/hostedzone/`), and its name.
    pub zone: Option<(String, String)>,
    /// Record type of the weighted sets.
    pub record_type: Option<String>,
    /// Weighted sets of that type.
    pub sets: Vec<WeightedSet>,
    /// The endpoint override, as given.
    pub endpoint_url: Option<String>,
    /// What could not be found or read.
    pub problems: Vec<String>,
}

/// Look the record up.
pub async fn discover(record: &str, args: &InitArgs, regions: &[RegionChoice]) -> Route53Findings {
    let mut found = Route53Findings {
        record: normalize_name(record),
        endpoint_url: args.route53_endpoint.clone(),
        ..Route53Findings::default()
    };
    let endpoint = args.route53_endpoint.clone().unwrap_or_else(|| AWS_ROUTE53_ENDPOINT.to_string());
    let client = client(args.route53_endpoint.as_deref()).await;
    let zone = match &args.zone_id {
        Some(id) => Ok(Some((strip_zone(id), String::new()))),
        None => find_zone(&client, &found.record, &endpoint).await,
    };
    match zone {
        Ok(Some(z)) => found.zone = Some(z),
        Ok(None) => {
            found
                .problems
                .push(format!("no hosted zone whose name {} ends with (pass --zone-id)", found.record));
            return found;
        }
        Err(e) => {
            found.problems.push(e);
            return found;
        }
    }
    let zone_id = found.zone.as_ref().map(|z| z.0.clone()).unwrap_or_default();
    match record_sets(&client, &zone_id, &found.record, &endpoint).await {
        Ok(sets) => pick_weighted(&mut found, &sets, regions),
        Err(e) => found.problems.push(e),
    }
    found
}

async fn client(endpoint: Option<&str>) -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(10))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::from_static(CONTROL_PLANE_REGION))
        .timeout_config(timeouts);
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

fn strip_zone(id: &str) -> String {
    id.trim_start_matches("/hostedzone/").to_string()
}

/// The zone whose name is the longest suffix of `record` (private and public zones of one name:
/// the first listed).
async fn find_zone(
    client: &Client,
    record: &str,
    endpoint: &str,
) -> Result<Option<(String, String)>, String> {
    let mut best: Option<(String, String)> = None;
    let mut marker: Option<String> = None;
    loop {
        let resp = client.list_hosted_zones().set_marker(marker.take()).send().await.map_err(|e| {
            clean(&format!("Route 53 ListHostedZones failed: {}", describe_sdk_error(&e, "-", endpoint)))
        })?;
        for z in resp.hosted_zones() {
            let name = normalize_name(z.name());
            let suffix = record == name || record.ends_with(&format!(".{name}"));
            if suffix && best.as_ref().is_none_or(|(_, b)| name.len() > b.len()) {
                best = Some((strip_zone(z.id()), name));
            }
        }
        match resp.next_marker() {
            Some(m) if resp.is_truncated() => marker = Some(m.to_string()),
            _ => return Ok(best),
        }
    }
}

/// Every record set named `record` (all types), following pagination.
async fn record_sets(
    client: &Client,
    zone: &str,
    record: &str,
    endpoint: &str,
) -> Result<Vec<ResourceRecordSet>, String> {
    let mut out = Vec::new();
    let mut start: Option<(String, Option<RrType>, Option<String>)> = Some((record.to_string(), None, None));
    while let Some((name, rtype, ident)) = start.take() {
        let resp = client
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .start_record_name(name)
            .set_start_record_type(rtype)
            .set_start_record_identifier(ident)
            .send()
            .await
            .map_err(|e| {
                clean(&format!(
                    "Route 53 ListResourceRecordSets failed: {}",
                    describe_sdk_error(&e, zone, endpoint)
                ))
            })?;
        let mut past = false;
        for rrs in resp.resource_record_sets() {
            if normalize_name(rrs.name()) == record {
                out.push(rrs.clone());
            } else {
                past = true;
            }
        }
        if resp.is_truncated()
            && !past
            && resp.next_record_name().map(normalize_name).as_deref() == Some(record)
        {
            start = Some((
                record.to_string(),
                resp.next_record_type().cloned(),
                resp.next_record_identifier().map(str::to_string),
            ));
        }
    }
    Ok(out)
}

/// Keep the weighted sets of the type most of them have, and match each to a region.
pub fn pick_weighted(found: &mut Route53Findings, sets: &[ResourceRecordSet], regions: &[RegionChoice]) {
    let weighted: Vec<&ResourceRecordSet> = sets
        .iter()
        .filter(|s| s.weight().is_some() && s.set_identifier().is_some())
        .filter(|s| matches!(s.r#type(), RrType::A | RrType::Aaaa | RrType::Cname))
        .collect();
    let Some(rtype) = ["A", "AAAA", "CNAME"]
        .into_iter()
        .filter(|t| weighted.iter().any(|s| s.r#type().as_str() == *t))
        .max_by_key(|t| weighted.iter().filter(|s| s.r#type().as_str() == *t).count())
    else {
        let types: Vec<&str> = sets.iter().map(|s| s.r#type().as_str()).collect();
        found.problems.push(if types.is_empty() {
            format!("no record set named {} in the zone", found.record)
        } else {
            format!(
                "no weighted A, AAAA or CNAME record sets named {} (found: {})",
                found.record,
                types.join(", ")
            )
        });
        return;
    };
    found.record_type = Some(rtype.to_string());
    for s in weighted.iter().filter(|s| s.r#type().as_str() == rtype) {
        let ident = s.set_identifier().unwrap_or_default().to_string();
        found.sets.push(WeightedSet {
            region: match_region(&ident, regions),
            weight: s.weight().unwrap_or_default(),
            health_check_id: s.health_check_id().map(str::to_string),
            set_identifier: ident,
        });
    }
}

/// The region a SetIdentifier belongs to: equal to a region or context name (ignoring case),
/// else the only region whose name or context it contains.
pub fn match_region(ident: &str, regions: &[RegionChoice]) -> Option<String> {
    let id = ident.to_ascii_lowercase();
    let eq = |s: &str| s.eq_ignore_ascii_case(&id);
    if let Some(r) = regions.iter().find(|r| eq(&r.region) || eq(&r.context)) {
        return Some(r.region.clone());
    }
    let containing: Vec<&RegionChoice> = regions
        .iter()
        .filter(|r| {
            id.contains(&r.region.to_ascii_lowercase()) || id.contains(&r.context.to_ascii_lowercase())
        })
        .collect();
    match containing.as_slice() {
        [one] => Some(one.region.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> Vec<RegionChoice> {
        vec![
            RegionChoice { context: "prod-east".into(), region: "us-east-1".into() },
            RegionChoice { context: "prod-west".into(), region: "us-west-2".into() },
        ]
    }

    #[test]
    fn set_identifiers_match_regions_exactly_or_by_a_unique_substring() {
        let r = regions();
        assert_eq!(match_region("US-EAST-1", &r).as_deref(), Some("us-east-1"));
        assert_eq!(match_region("prod-west", &r).as_deref(), Some("us-west-2"));
        assert_eq!(match_region("api-us-west-2-blue", &r).as_deref(), Some("us-west-2"));
        assert_eq!(match_region("eu-central-1", &r), None);
        assert_eq!(match_region("us-east-1+us-west-2", &r), None, "ambiguous");
    }

    #[test]
    fn picks_the_weighted_sets_of_the_commonest_type() {
        use aws_sdk_route53::types::ResourceRecordSet as R;
        let set = |t: RrType, id: Option<&str>, w: Option<i64>| {
            R::builder()
                .name("api.example.com.")
                .r#type(t)
                .set_set_identifier(id.map(String::from))
                .set_weight(w)
                .build()
                .unwrap()
        };
        let sets = vec![
            set(RrType::Txt, None, None),
            set(RrType::A, Some("us-east-1"), Some(70)),
            set(RrType::A, Some("us-west-2"), Some(30)),
            set(RrType::A, Some("eu-central-1"), Some(0)),
            set(RrType::Aaaa, Some("us-east-1"), Some(100)),
        ];
        let mut f = Route53Findings { record: "api.example.com.".into(), ..Default::default() };
        pick_weighted(&mut f, &sets, &regions());
        assert_eq!(f.record_type.as_deref(), Some("A"));
        let got: Vec<(&str, i64, Option<&str>)> =
            f.sets.iter().map(|s| (s.set_identifier.as_str(), s.weight, s.region.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("us-east-1", 70, Some("us-east-1")),
                ("us-west-2", 30, Some("us-west-2")),
                ("eu-central-1", 0, None)
            ]
        );
        let mut none = Route53Findings { record: "api.example.com.".into(), ..Default::default() };
        pick_weighted(&mut none, &sets[..1], &regions());
        assert!(
            none.problems[0].contains("no weighted") && none.problems[0].contains("TXT"),
            "{:?}",
            none.problems
        );
    }
}
