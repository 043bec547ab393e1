#!/usr/bin/env python3
"""Serve GOCDB PI responses for the testbed site from XML fixture files.

GOCDB itself cannot run here, so this stand-in serves the read methods that the suite uses, at
/gocdbpi/public/?method=NAME, filtered the way GOCDB filters them:

- get_site and get_site_list (by sitename)
- get_service_endpoint and its alias get_service (by sitename, service_type, hostname, monitored)

Every service URL in the fixture that starts with --fixture-keystone-url is rewritten to start with
--keystone-url, so the fixture can stay fixed while the testbed's Keystone port changes.
"""

import argparse
import copy
import logging
import signal
import sys
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PI_PATH = "/gocdbpi/public/"
SITE_LIST_ATTRIBUTES = ("ID", "PRIMARY_KEY", "NAME")

log = logging.getLogger("gocdb-pi")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on, on 127.0.0.1")
    parser.add_argument("--site-file", required=True, help="get_site XML file of the site")
    parser.add_argument("--service-endpoint-file", required=True, help="get_service_endpoint XML file of the site")
    parser.add_argument("--fixture-keystone-url", required=True, help="Keystone URL written in the fixture")
    parser.add_argument("--keystone-url", required=True, help="Keystone URL to register in its place")
    return parser.parse_args()


def load_service_endpoints(path, fixture_url, keystone_url):
    tree = ET.parse(path)
    for url in tree.getroot().iter("URL"):
        if url.text and url.text.startswith(fixture_url):
            url.text = keystone_url + url.text[len(fixture_url):]
    return tree.getroot()


def text_of(element, tag):
    return (element.findtext(tag) or "").strip()


def filter_service_endpoints(root, query):
    results = ET.Element("results")
    for service in root.findall("SERVICE_ENDPOINT"):
        wanted = {
            "SITENAME": query.get("sitename"),
            "SERVICE_TYPE": query.get("service_type"),
            "HOSTNAME": query.get("hostname"),
            "NODE_MONITORED": query.get("monitored"),
        }
        if all(value is None or text_of(service, tag) == value for tag, value in wanted.items()):
            results.append(copy.deepcopy(service))
    return results


def filter_sites(root, query):
    results = ET.Element("results")
    sitename = query.get("sitename")
    for site in root.findall("SITE"):
        if sitename is None or site.get("NAME") == sitename:
            results.append(copy.deepcopy(site))
    return results


def site_list(sites):
    """Render get_site_list: one empty SITE element per site, with the summary as attributes."""
    results = ET.Element("results")
    for site in sites.findall("SITE"):
        attributes = {name: site.get(name, "") for name in SITE_LIST_ATTRIBUTES}
        attributes["COUNTRY"] = text_of(site, "COUNTRY")
        attributes["COUNTRY_CODE"] = text_of(site, "COUNTRY_CODE")
        attributes["ROC"] = text_of(site, "ROC")
        attributes["SUBGRID"] = ""
        attributes["GIIS_URL"] = text_of(site, "GIIS_URL")
        ET.SubElement(results, "SITE", attributes)
    return results


def make_handler(site_root, service_root):
    class Handler(BaseHTTPRequestHandler):
        server_version = "gocdb-pi-standin"

        def do_GET(self):
            parts = urlsplit(self.path)
            if parts.path.rstrip("/") + "/" != PI_PATH:
                self.send_xml(404, error_document(f"no PI at {parts.path}; use {PI_PATH}"))
                return
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            method = query.get("method")
            if method == "get_site":
                body = filter_sites(site_root, query)
            elif method == "get_site_list":
                body = site_list(filter_sites(site_root, query))
            elif method in ("get_service_endpoint", "get_service"):
                body = filter_service_endpoints(service_root, query)
            else:
                self.send_xml(400, error_document(f"unsupported method {method!r}"))
                return
            self.send_xml(200, body)

        def send_xml(self, status, root):
            ET.indent(root)
            payload = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args):
            log.info("%s %s", self.address_string(), format % args)

    return Handler


def error_document(message):
    root = ET.Element("results")
    ET.SubElement(root, "error").text = message
    return root


def stop(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    signal.signal(signal.SIGTERM, stop)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args()
    site_root = ET.parse(args.site_file).getroot()
    service_root = load_service_endpoints(args.service_endpoint_file, args.fixture_keystone_url, args.keystone_url)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(site_root, service_root))
    log.info("serving %s on http://127.0.0.1:%d%s, Keystone registered as %s",
             args.site_file, args.port, PI_PATH, args.keystone_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    log.info("stopped")


if __name__ == "__main__":
    main()
