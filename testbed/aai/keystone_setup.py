#!/usr/bin/env python3
"""Create the testbed's catalog, projects and EGI federation objects in a bootstrapped Keystone.

Uses the Keystone v3 REST API as the bootstrap admin, because the openstack CLI costs about 2 s
per command. Each fault in FAULTS changes exactly one of these objects.
"""

import argparse
import json
import re
import ssl
import sys
import urllib.error
import urllib.request

FAULTS = {
    "accept-any-entitlement": "the VO mapping rule does not check eduperson_entitlement",
    "no-ops": "the mapping has no rule for the ops VO, so federated users never get the ops project",
    "old-issuer-only": "the IdP remote_ids and the mapping trust only the retired issuer URL",
    "no-openid-protocol": "the egi.eu IdP has no openid protocol, so the federation auth URL returns 404",
}
REGION = "RegionOne"
MAPPING_ID = "egi-mapping"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keystone-url", required=True, help="Keystone URL ending in /v3")
    parser.add_argument("--admin-password-file", required=True, help="file with the bootstrap admin password")
    parser.add_argument("--ca-file", required=True, help="CA certificate that signed Keystone's certificate")
    parser.add_argument("--issuer", required=True, help="current issuer of the OpenID provider")
    parser.add_argument("--old-issuer", required=True, help="retired issuer, still trusted during the transition")
    parser.add_argument("--idp", default="egi.eu")
    parser.add_argument("--protocol", default="openid")
    parser.add_argument("--vo", required=True, help="the community VO (the ops VO is always added)")
    parser.add_argument("--service-url", action="append", default=[], metavar="TYPE=URL",
                        help="public catalog endpoint to create, e.g. compute=https://localhost:18774/v2.1")
    parser.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS))
    return parser.parse_args()


class Keystone:
    def __init__(self, url, ca_file):
        self.url = url.rstrip("/")
        self.context = ssl.create_default_context(cafile=ca_file)
        self.token = None

    def request(self, method, path, body=None, expected=(200, 201, 204)):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                payload = response.read()
                headers = response.headers
                status = response.status
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise SystemExit(f"keystone_setup: {method} {path} failed with HTTP {error.code}: {detail}") from None
        if status not in expected:
            raise SystemExit(f"keystone_setup: {method} {path} returned HTTP {status}, expected {expected}")
        return (json.loads(payload) if payload else {}), headers

    def login(self, password):
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }}
        _, headers = self.request("POST", "/auth/tokens", body)
        self.token = headers["X-Subject-Token"]

    def find_id(self, collection, name, key=None):
        listing, _ = self.request("GET", f"/{collection}?name={urllib.request.quote(name)}")
        items = listing[key or collection]
        if not items:
            raise SystemExit(f"keystone_setup: no {collection} named {name!r}")
        return items[0]["id"]

    def create(self, collection, key, attributes):
        created, _ = self.request("POST", f"/{collection}", {key: attributes})
        return created[key]["id"]


def entitlement_regex(vo):
    """Match EGI membership or VM operator entitlements of one VO, as sites write them."""
    return f"^urn:mace:egi\\.eu:group:{re.escape(vo)}:role=(member|vm_operator)#aai\\.egi\\.eu$"


def mapping_rule(group, trusted_issuers, entitlement):
    remote = [
        {"type": "HTTP_OIDC_SUB"},
        {"type": "HTTP_OIDC_ISS", "any_one_of": trusted_issuers},
    ]
    if entitlement is not None:
        # mod_auth_openidc passes the claim as one ';'-joined string, and Keystone splits it on ';'.
        remote.append({"type": "OIDC-eduperson_entitlement", "regex": True, "any_one_of": [entitlement]})
    return {
        "local": [
            {"user": {"name": "{0}", "type": "ephemeral"}},
            {"group": {"name": group, "domain": {"id": "default"}}},
        ],
        "remote": remote,
    }


def build_mapping(args, trusted_issuers):
    faults = set(args.fault)
    vo_entitlement = None if "accept-any-entitlement" in faults else entitlement_regex(args.vo)
    rules = [mapping_rule(f"egi-{args.vo}", trusted_issuers, vo_entitlement)]
    if "no-ops" not in faults:
        rules.append(mapping_rule("egi-ops", trusted_issuers, entitlement_regex("ops")))
    return {"rules": rules}


def create_catalog(keystone, service_urls):
    names = {"identity": "keystone", "compute": "nova", "image": "glance", "network": "neutron",
             "object-store": "swift"}
    keystone.request("POST", "/regions", {"region": {"id": REGION}})
    for service_type, url in service_urls:
        service_id = keystone.create("services", "service", {
            "type": service_type, "name": names.get(service_type, service_type), "enabled": True})
        # keystone-manage bootstrap registers identity as public and internal, so this does too.
        interfaces = ("public", "internal") if service_type == "identity" else ("public",)
        for interface in interfaces:
            keystone.create("endpoints", "endpoint", {
                "service_id": service_id, "interface": interface, "region_id": REGION, "url": url,
                "enabled": True})


def create_projects(keystone, vo):
    member_role = keystone.find_id("roles", "member")
    for project in (vo, "ops"):
        project_id = keystone.create("projects", "project", {
            "name": project, "domain_id": "default", "enabled": True,
            "description": f"Resources of the {project} VO"})
        group_id = keystone.create("groups", "group", {
            "name": f"egi-{project}", "domain_id": "default",
            "description": f"Federated members of the {project} VO"})
        keystone.request("PUT", f"/projects/{project_id}/groups/{group_id}/roles/{member_role}")


def create_federation(keystone, args):
    trusted_issuers = [args.old_issuer] if "old-issuer-only" in args.fault else [args.issuer, args.old_issuer]
    idp, _ = keystone.request("PUT", f"/OS-FEDERATION/identity_providers/{args.idp}", {"identity_provider": {
        "enabled": True, "remote_ids": trusted_issuers, "description": "EGI Check-in (testbed OpenID provider)"}})
    # Keystone creates a domain for the IdP's users, and EGI's guide renames it to the IdP id.
    domain_id = idp["identity_provider"]["domain_id"]
    keystone.request("PATCH", f"/domains/{domain_id}", {"domain": {"name": args.idp}})
    keystone.request("PUT", f"/OS-FEDERATION/mappings/{MAPPING_ID}",
                     {"mapping": build_mapping(args, trusted_issuers)})
    if "no-openid-protocol" not in args.fault:
        keystone.request("PUT", f"/OS-FEDERATION/identity_providers/{args.idp}/protocols/{args.protocol}",
                         {"protocol": {"mapping_id": MAPPING_ID}})


def main():
    args = parse_args()
    service_urls = []
    for item in args.service_url:
        service_type, separator, url = item.partition("=")
        if not separator:
            sys.exit(f"keystone_setup: invalid --service-url {item!r}; expected TYPE=URL")
        service_urls.append((service_type, url))
    with open(args.admin_password_file, encoding="utf-8") as file:
        password = file.read().strip()
    keystone = Keystone(args.keystone_url, args.ca_file)
    keystone.login(password)
    create_catalog(keystone, service_urls)
    create_projects(keystone, args.vo)
    create_federation(keystone, args)


if __name__ == "__main__":
    main()
