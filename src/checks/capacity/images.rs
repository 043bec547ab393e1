//! Images in Glance that each VO can start.

use super::super::{CheckCtx, Outcome, Problem};
use super::{get_json, service_url};

pub async fn vo_images(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let mut counts = Vec::new();
    let mut empty = Vec::new();
    for vo in ctx.profile().site.vos.clone() {
        let (token, image) = service_url(&ctx, &vo, "image")?;
        let image = image.trim_end_matches("/v2");
        // One page is enough: the check needs one active image, not the whole list.
        let url = format!("{image}/v2/images?status=active&limit=25");
        let body = get_json(&ctx, &url, &token).await?;
        let names: Vec<&str> = body["images"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|image| image["status"] == "active")
            .filter_map(|image| image["name"].as_str())
            .collect();
        if names.is_empty() {
            empty.push(vo.clone());
        } else {
            counts.push(format!("{vo}: {} ({})", names.len(), names.join(", ")));
        }
    }
    if !empty.is_empty() {
        return Ok(Outcome::fail(format!(
            "no active image is available to {}, so its users (and, for ops, EGI's VM probe) cannot start a VM; expected at least 1 (hint: subscribe the VO to EGI's image synchronisation or share an image with its project)",
            empty.join(", ")
        )));
    }
    Ok(Outcome::pass(format!(
        "active images per VO (first page): {}",
        counts.join("; ")
    )))
}
