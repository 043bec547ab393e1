"""Print one token of the testbed's OpenID provider to stdout, as oidc-agent's oidc-token does.

Run through ./token, which sets the environment: TESTBED_ISSUER, TESTBED_OTHER_ISSUER,
TESTBED_CA_FILE, TESTBED_CLIENTS_FILE, TESTBED_CLI_CLIENT_ID, TESTBED_SHORT_TTL_CLIENT_ID,
TESTBED_ROBOT_CLIENT_ID. Users log in through the provider's login form and consent page,
driven here over HTTP with a cookie jar, so every token is issued by the real authorization
code flow. Tokens are printed and never written to files or logs.
"""

import base64
import hashlib
import http.cookiejar
import json
import os
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REDIRECT_URI = "http://127.0.0.1/callback"
SCOPE = "openid profile email eduperson_entitlement voperson_id offline_access"

KINDS = {
    "client-secret": "client secret of the profile's client (fedcloud-cli)",
    "refresh-alice": "refresh token of alice for fedcloud-cli (reusable, valid 90 days, or 10 under the short-refresh-token fault)",
    "access-alice": "access token of alice (JWT, VO and ops entitlements), from the refresh token grant",
    "access-bob": "access token of bob, valid but without the VO or ops entitlement",
    "access-expired": "access token of alice that has already expired (waits about 3 s)",
    "robot": "access token of the fedcloud-robot service account (client_credentials, ops entitlement)",
    "other-issuer": "access token of alice from the second OpenID provider, which Keystone does not trust",
    "forged-alice": "alice's access token claims signed with a key that the provider never had",
}


class TokenError(Exception):
    pass


def env(name):
    value = os.environ.get(name)
    if not value:
        raise TokenError(f"environment variable {name} is missing; run testbed/aai/token, which sets it")
    return value


class StopRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Client:
    """OAuth 2.0 client of one issuer, with its own cookie jar for the login session."""

    def __init__(self, issuer, client_id, client_secret):
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        context = ssl.create_default_context(cafile=env("TESTBED_CA_FILE"))
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            StopRedirects,
        )
        self.metadata = json.loads(self.open(f"{issuer}/.well-known/openid-configuration")[2])

    def open(self, url, form=None, basic_auth=False):
        """Send one request without following redirects; returns (status, headers, body)."""
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(url, data=data)
        if basic_auth:
            credentials = f"{urllib.parse.quote(self.client_id)}:{urllib.parse.quote(self.client_secret)}"
            request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def follow(self, url, form=None):
        """Follow redirects from URL until a page or the client's redirect URI; returns (url, body)."""
        for _ in range(10):
            status, headers, body = self.open(url, form)
            form = None
            if status not in (302, 303):
                if status != 200:
                    raise TokenError(f"login flow failed: HTTP {status} at {url.split('?')[0]}")
                return url, body
            url = urllib.parse.urljoin(url, headers["Location"])
            if url.startswith(REDIRECT_URI):
                return url, b""
        raise TokenError("login flow failed: too many redirects")

    def token_request(self, form):
        status, _, body = self.open(self.metadata["token_endpoint"], form, basic_auth=True)
        response = json.loads(body)
        if status != 200:
            raise TokenError(f"token request ({form['grant_type']}) failed: HTTP {status} "
                             f"{response.get('error')}: {response.get('error_description')}")
        return response

    def login(self, user):
        """Run the authorization code flow with PKCE for USER; returns the token response."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(16)
        query = urllib.parse.urlencode({
            "client_id": self.client_id, "response_type": "code", "redirect_uri": REDIRECT_URI,
            "scope": SCOPE, "prompt": "consent", "state": state, "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge, "code_challenge_method": "S256",
        })
        url, _ = self.follow(f"{self.metadata['authorization_endpoint']}?{query}")
        url, _ = self.follow(url, {"prompt": "login", "login": f"{user}@egi.eu", "password": ""})
        if not url.startswith(REDIRECT_URI):
            url, _ = self.follow(url, {"prompt": "consent"})
        if not url.startswith(REDIRECT_URI):
            raise TokenError(f"login flow for {user} did not reach the redirect URI")
        result = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        if "code" not in result:
            raise TokenError(f"authorization failed: {result.get('error')}: {result.get('error_description')}")
        if result.get("state") != state:
            raise TokenError("authorization response has an unexpected state value")
        return self.token_request({
            "grant_type": "authorization_code", "code": result["code"],
            "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
        })

    def refresh(self, refresh_token):
        return self.token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})


def client_secrets():
    with open(env("TESTBED_CLIENTS_FILE"), encoding="utf-8") as file:
        return json.load(file)


def client(issuer_variable, client_id_variable):
    client_id = env(client_id_variable)
    return Client(env(issuer_variable), client_id, client_secrets()[client_id])


def access_token_of(user, issuer_variable="TESTBED_ISSUER"):
    cli = client(issuer_variable, "TESTBED_CLI_CLIENT_ID")
    return cli.refresh(cli.login(user)["refresh_token"])["access_token"]


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(token):
    """Re-sign TOKEN's header and claims with a fresh RSA key, keeping the provider's kid."""
    header, payload, _ = token.split(".")
    signing_input = f"{header}.{payload}".encode()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url_encode(signature)}"


def expired_access_token():
    short = client("TESTBED_ISSUER", "TESTBED_SHORT_TTL_CLIENT_ID")
    token = short.login("alice")["access_token"]
    expires_at = json.loads(b64url_decode(token.split(".")[1]))["exp"]
    if expires_at - time.time() > 60:
        raise TokenError(f"access tokens of client {short.client_id} live longer than 60 s; check OP_SHORT_ACCESS_TOKEN_TTL of the provider")
    # Waits one second past exp, so the token is expired for any validator whose clock is within 1 s.
    time.sleep(max(0.0, expires_at + 1 - time.time()))
    return token


def make_token(kind):
    if kind == "client-secret":
        return client_secrets()[env("TESTBED_CLI_CLIENT_ID")]
    if kind == "refresh-alice":
        return client("TESTBED_ISSUER", "TESTBED_CLI_CLIENT_ID").login("alice")["refresh_token"]
    if kind == "access-alice":
        return access_token_of("alice")
    if kind == "access-bob":
        return access_token_of("bob")
    if kind == "access-expired":
        return expired_access_token()
    if kind == "robot":
        robot = client("TESTBED_ISSUER", "TESTBED_ROBOT_CLIENT_ID")
        return robot.token_request({
            "grant_type": "client_credentials", "scope": "openid eduperson_entitlement"})["access_token"]
    if kind == "other-issuer":
        return access_token_of("alice", "TESTBED_OTHER_ISSUER")
    if kind == "forged-alice":
        return forge(access_token_of("alice"))
    raise AssertionError(kind)


def usage():
    lines = ["Usage: token KIND", "", "Prints one token to stdout. Kinds:"]
    lines += [f"  {kind:15} {description}" for kind, description in KINDS.items()]
    return "\n".join(lines)


def main():
    if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help"):
        print(usage())
        return 0
    if len(sys.argv) != 2:
        print(usage(), file=sys.stderr)
        return 2
    kind = sys.argv[1]
    if kind not in KINDS:
        print(f"token: unknown kind {kind!r}\n\n{usage()}", file=sys.stderr)
        return 2
    try:
        print(make_token(kind))
    except urllib.error.URLError as error:
        print(f"token: cannot reach the OpenID provider ({error.reason}); start the testbed with testbed/aai/up", file=sys.stderr)
        return 1
    except (TokenError, OSError, KeyError, ValueError) as error:
        print(f"token: cannot make a {kind} token: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
