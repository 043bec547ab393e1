//! Nova and Neutron quotas of every VO project, ops included: each meets the profile's minimum
//! and is not used up.

use serde_json::Value;

use super::super::aai::PROJECTS;
use super::super::{CheckCtx, Outcome, Problem};
use super::{get_json, service_url};
use crate::profile::CapacitySection;

/// One quota as a project sees it; a limit of -1 means unlimited.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Quota {
    pub resource: &'static str,
    pub limit: i64,
    pub used: i64,
    pub minimum: i64,
}

impl Quota {
    /// What is wrong with the quota under `max_usage_percent`, if anything.
    pub fn problem(&self, max_usage_percent: u32) -> Option<String> {
        let Quota {
            resource,
            limit,
            used,
            minimum,
        } = self;
        if *limit < 0 {
            return None;
        }
        if limit < minimum {
            return Some(format!(
                "{resource} quota {limit}, expected at least {minimum}"
            ));
        }
        if *limit > 0 && used * 100 > limit * i64::from(max_usage_percent) {
            return Some(format!(
                "{used} of {limit} {resource} used ({}%), expected at most {max_usage_percent}%",
                used * 100 / limit
            ));
        }
        None
    }

    fn describe(&self) -> String {
        if self.limit < 0 {
            format!("{} {} used of unlimited", self.resource, self.used)
        } else {
            format!("{} {}/{}", self.resource, self.used, self.limit)
        }
    }
}

/// Nova's quotas from a `GET /limits` answer.
pub fn nova_quotas(limits: &Value, minimums: &CapacitySection) -> Vec<Quota> {
    let absolute = &limits["limits"]["absolute"];
    let quota = |resource, max_key: &str, used_key: &str, minimum| Quota {
        resource,
        limit: absolute[max_key].as_i64().unwrap_or(0),
        used: absolute[used_key].as_i64().unwrap_or(0),
        minimum,
    };
    let wanted = &minimums.quota;
    vec![
        quota("cores", "maxTotalCores", "totalCoresUsed", wanted.cores),
        quota("MiB RAM", "maxTotalRAMSize", "totalRAMUsed", wanted.ram_mib),
        quota(
            "instances",
            "maxTotalInstances",
            "totalInstancesUsed",
            wanted.instances,
        ),
    ]
}

/// The floating IP quota from Neutron's quota details (`GET /v2.0/quotas/{id}/details.json`).
pub fn neutron_floating_ips(details: &Value, minimum: i64) -> Option<Quota> {
    let floating = &details["quota"]["floatingip"];
    Some(Quota {
        resource: "floating IPs",
        limit: floating["limit"].as_i64()?,
        used: floating["used"].as_i64().unwrap_or(0),
        minimum,
    })
}

pub async fn project_quotas(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let capacity = ctx.profile().capacity.clone();
    let projects = ctx.env.shared.value(PROJECTS).unwrap_or_default();
    let mut problems = Vec::new();
    let mut summaries = Vec::new();
    for vo in ctx.profile().site.vos.clone() {
        let (token, compute) = service_url(&ctx, &vo, "compute")?;
        let limits = get_json(&ctx, &format!("{compute}/limits"), &token).await?;
        let mut quotas = nova_quotas(&limits, &capacity);

        // Nova's floating IP limit is its own legacy quota, not Neutron's, and is gone from
        // microversion 2.36 on, so the network service is asked.
        let project_name = ctx.profile().project_for(&vo).to_owned();
        let project_id = project_id(&projects, &project_name)
            .ok_or_else(|| Problem(format!("no project id for {project_name} (VO {vo})")))?;
        let (_, network) = service_url(&ctx, &vo, "network")?;
        let network = network.trim_end_matches("/v2.0");
        let url = format!("{network}/v2.0/quotas/{project_id}/details.json");
        let details = get_json(&ctx, &url, &token).await?;
        match neutron_floating_ips(&details, capacity.quota.floating_ips) {
            Some(quota) => quotas.push(quota),
            None => problems.push(format!(
                "{vo}: {url} has no floatingip quota, so the floating IP quota is unknown"
            )),
        }

        for quota in &quotas {
            if let Some(problem) = quota.problem(capacity.max_quota_usage_percent) {
                problems.push(format!("{vo}: {problem}"));
            }
        }
        let described: Vec<String> = quotas.iter().map(Quota::describe).collect();
        summaries.push(format!("{vo}: {}", described.join(", ")));
    }
    if !problems.is_empty() {
        return Ok(Outcome::fail(format!(
            "{} (hint: raise the project quotas with `openstack quota set`, or set capacity.quota in the profile to the VO's agreed figures)",
            problems.join("; ")
        )));
    }
    Ok(Outcome::pass(format!(
        "every project meets the quota minimums with headroom: {}",
        summaries.join("; ")
    )))
}

fn project_id(projects: &Value, name: &str) -> Option<String> {
    projects
        .as_array()?
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .and_then(|p| p["id"].as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: i64, used: i64) -> Quota {
        Quota {
            resource: "cores",
            limit,
            used,
            minimum: 4,
        }
    }

    #[test]
    fn quota_below_minimum_names_both_values() {
        assert_eq!(
            quota(2, 0).problem(90).as_deref(),
            Some("cores quota 2, expected at least 4")
        );
    }

    #[test]
    fn quota_used_up_has_no_headroom() {
        assert_eq!(
            quota(10, 10).problem(90).as_deref(),
            Some("10 of 10 cores used (100%), expected at most 90%")
        );
        assert_eq!(quota(10, 9).problem(90), None);
    }

    #[test]
    fn unlimited_quota_always_fits() {
        assert_eq!(quota(-1, 1000).problem(90), None);
    }

    #[test]
    fn nova_limits_fixture_reads_three_quotas() {
        let limits: Value =
            serde_json::from_str(include_str!("../../../fixtures/openstack/nova-limits.json"))
                .unwrap();
        let quotas = nova_quotas(&limits, &CapacitySection::default());
        assert_eq!(quotas.len(), 3);
        assert_eq!(quotas[0].limit, 40);
        assert_eq!(quotas[0].used, 4);
        assert_eq!(quotas[1].limit, 102_400);
        assert_eq!(quotas[2].minimum, 2);
        assert!(quotas.iter().all(|q| q.problem(90).is_none()));
    }

    #[test]
    fn neutron_fixture_reads_floating_ips() {
        let details: Value = serde_json::from_str(include_str!(
            "../../../fixtures/openstack/neutron-quota-details.json"
        ))
        .unwrap();
        let quota = neutron_floating_ips(&details, 1).unwrap();
        assert_eq!((quota.limit, quota.used), (5, 1));
        assert_eq!(neutron_floating_ips(&serde_json::json!({}), 1), None);
    }
}
