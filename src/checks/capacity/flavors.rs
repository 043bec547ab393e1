//! Flavors as each VO sees them (public ones and the private ones its project may use), and
//! EGI's convention for GPU flavors.

use std::collections::BTreeMap;

use serde_json::Value;

use super::super::{CheckCtx, Outcome, Problem};
use super::{get_json, get_json_versioned, service_url};

/// Flavor properties EGI's GPU convention defines. cASO reports accelerator usage only when the
/// first four are all set.
const REQUIRED_ACCELERATOR_KEYS: [&str; 4] = [
    "Accelerator:Type",
    "Accelerator:Vendor",
    "Accelerator:Model",
    "Accelerator:Number",
];

/// `Accelerator:Type` values of EGI's GPU flavor convention.
const ACCELERATOR_TYPES: [&str; 5] = ["GPU", "MIC", "FPGA", "TPU", "NPU"];

/// Extra specs that attach a device to a flavor's VMs: PCI passthrough or a virtual GPU.
const DEVICE_KEYS: [&str; 3] = ["pci_passthrough:alias", "resources:VGPU", "resources:PGPU"];

/// Microversion from which `GET /flavors/detail` includes each flavor's `extra_specs`.
const EXTRA_SPECS_MICROVERSION: &str = "2.61";

/// Whether a flavor's extra specs make it a GPU (or other accelerator) flavor.
pub fn is_accelerator_flavor(specs: &serde_json::Map<String, Value>) -> bool {
    specs
        .keys()
        .any(|key| DEVICE_KEYS.contains(&key.as_str()) || key.starts_with("Accelerator:"))
}

/// What an accelerator flavor lacks or gets wrong under EGI's convention.
pub fn accelerator_problems(specs: &serde_json::Map<String, Value>) -> Vec<String> {
    let text = |key: &str| specs.get(key).and_then(Value::as_str).map(str::trim);
    let mut problems: Vec<String> = REQUIRED_ACCELERATOR_KEYS
        .iter()
        .filter(|key| text(key).is_none_or(str::is_empty))
        .map(|key| format!("no {key}"))
        .collect();
    if let Some(kind) = text("Accelerator:Type")
        && !kind.is_empty()
        && !ACCELERATOR_TYPES.contains(&kind)
    {
        problems.push(format!(
            "Accelerator:Type `{kind}`, expected one of {}",
            ACCELERATOR_TYPES.join(", ")
        ));
    }
    if let Some(number) = text("Accelerator:Number")
        && !number.is_empty()
        && !number.parse::<f64>().is_ok_and(|n| n > 0.0)
    {
        problems.push(format!(
            "Accelerator:Number `{number}`, expected a positive number such as 1.0"
        ));
    }
    problems
}

/// The flavors `vo` can use, with their extra specs, from `GET /flavors/detail`.
pub async fn flavors_of(ctx: &CheckCtx, vo: &str) -> Result<Vec<Value>, Problem> {
    let (token, compute) = service_url(ctx, vo, "compute")?;
    let url = format!("{compute}/flavors/detail");
    let body = get_json_versioned(ctx, &url, &token, EXTRA_SPECS_MICROVERSION).await?;
    let mut flavors = body["flavors"].as_array().cloned().unwrap_or_default();
    // Before 2.61, or when policy hides them from the list, extra specs come one flavor at a time.
    for flavor in flavors.iter_mut().filter(|f| !f["extra_specs"].is_object()) {
        let id = flavor["id"].as_str().unwrap_or_default().to_owned();
        let specs = get_json(
            ctx,
            &format!("{compute}/flavors/{id}/os-extra_specs"),
            &token,
        )
        .await?;
        flavor["extra_specs"] = specs["extra_specs"].clone();
    }
    Ok(flavors)
}

/// An accelerator flavor: its name, extra specs and the VOs that see it.
type SeenFlavor = (String, serde_json::Map<String, Value>, Vec<String>);

pub async fn gpu_flavors(ctx: CheckCtx) -> Result<Outcome, Problem> {
    // Keyed by flavor id, because every VO sees the public flavors.
    let mut seen: BTreeMap<String, SeenFlavor> = BTreeMap::new();
    for vo in ctx.profile().site.vos.clone() {
        for flavor in flavors_of(&ctx, &vo).await? {
            let Some(specs) = flavor["extra_specs"].as_object() else {
                continue;
            };
            if !is_accelerator_flavor(specs) {
                continue;
            }
            let id = flavor["id"].as_str().unwrap_or_default().to_owned();
            let name = flavor["name"].as_str().unwrap_or_default().to_owned();
            seen.entry(id)
                .or_insert_with(|| (name, specs.clone(), Vec::new()))
                .2
                .push(vo.clone());
        }
    }
    if seen.is_empty() {
        return Ok(Outcome::skip(
            "no flavor visible to the site's VOs has a PCI passthrough alias, a virtual GPU or Accelerator:* properties",
        ));
    }
    let mut problems = Vec::new();
    let mut good = Vec::new();
    for (name, specs, vos) in seen.values() {
        let found = accelerator_problems(specs);
        if found.is_empty() {
            let describe = |key: &str| specs.get(key).and_then(Value::as_str).unwrap_or_default();
            good.push(format!(
                "{name}: {} x {} {} {}",
                describe("Accelerator:Number"),
                describe("Accelerator:Type"),
                describe("Accelerator:Vendor"),
                describe("Accelerator:Model")
            ));
        } else {
            let device = DEVICE_KEYS
                .iter()
                .find_map(|key| specs.get(*key).map(|v| format!(" ({key} {})", text_of(v))))
                .unwrap_or_default();
            problems.push(format!(
                "flavor {name}{device}, seen by {}, has {}",
                vos.join(", "),
                found.join(", ")
            ));
        }
    }
    if !problems.is_empty() {
        return Ok(Outcome::fail(format!(
            "{}; EGI's GPU convention expects {} on every accelerator flavor (hint: `openstack flavor set --property Accelerator:Type=GPU ...`)",
            problems.join("; "),
            REQUIRED_ACCELERATOR_KEYS.join(", ")
        )));
    }
    Ok(Outcome::pass(format!(
        "{} accelerator flavor(s) carry EGI's properties: {}",
        good.len(),
        good.join("; ")
    )))
}

fn text_of(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn fixture_gpu_flavor_meets_convention() {
        let flavors: Value = serde_json::from_str(include_str!(
            "../../../fixtures/openstack/nova-flavors-detail.json"
        ))
        .unwrap();
        let gpu: Vec<&Value> = flavors["flavors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| is_accelerator_flavor(f["extra_specs"].as_object().unwrap()))
            .collect();
        assert_eq!(gpu.len(), 1);
        assert_eq!(gpu[0]["name"], "g1.t4.large");
        let found = accelerator_problems(gpu[0]["extra_specs"].as_object().unwrap());
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn passthrough_without_properties_lists_each_key() {
        let bare = specs(serde_json::json!({"pci_passthrough:alias": "a100:1"}));
        assert!(is_accelerator_flavor(&bare));
        assert_eq!(
            accelerator_problems(&bare),
            vec![
                "no Accelerator:Type",
                "no Accelerator:Vendor",
                "no Accelerator:Model",
                "no Accelerator:Number"
            ]
        );
    }

    #[test]
    fn invalid_type_and_number_are_named() {
        let wrong = specs(serde_json::json!({
            "Accelerator:Type": "gpu", "Accelerator:Vendor": "NVIDIA",
            "Accelerator:Model": "Tesla A100", "Accelerator:Number": "one"
        }));
        let found = accelerator_problems(&wrong);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("Accelerator:Type `gpu`"), "{found:?}");
        assert!(found[1].contains("Accelerator:Number `one`"), "{found:?}");
    }

    #[test]
    fn plain_flavor_is_not_accelerator() {
        let plain = specs(serde_json::json!({"hw:cpu_policy": "shared"}));
        assert!(!is_accelerator_flavor(&plain));
    }
}
