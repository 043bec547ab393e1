# Shared settings of the AAI testbed scripts, sourced (not executed) by each of them.
# Every port can be overridden from the environment, e.g. TESTBED_KEYSTONE_PORT=25000 ./up.

TESTBED_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$TESTBED_DIR/../.." && pwd)"
# Apache's www-data user must be able to reach the state directory, so it can be moved out of a
# checkout below a private directory.
STATE_DIR="${TESTBED_AAI_STATE_DIR:-$TESTBED_DIR/.state}"
VENV_DIR="$STATE_DIR/venv"
RUN_DIR="$STATE_DIR/run"
OP_DIR="$TESTBED_DIR/op"

KEYSTONE_PORT="${TESTBED_KEYSTONE_PORT:-15000}"
OP_PORT="${TESTBED_OP_PORT:-15443}"
OTHER_OP_PORT="${TESTBED_OTHER_OP_PORT:-15444}"
GOCDB_PORT="${TESTBED_GOCDB_PORT:-15080}"
# Catalog placeholders: nothing listens on these ports (Nova, Glance, Neutron and Swift do not run here).
COMPUTE_PORT="${TESTBED_COMPUTE_PORT:-18774}"
IMAGE_PORT="${TESTBED_IMAGE_PORT:-19292}"
NETWORK_PORT="${TESTBED_NETWORK_PORT:-19696}"
OBJECT_STORE_PORT="${TESTBED_OBJECT_STORE_PORT:-18080}"

HOST_NAME="localhost"
SITE_NAME="TESTBED-AAI"
VO_NAME="vo.access.egi.eu"
IDP_ID="egi.eu"
PROTOCOL_ID="openid"
# Check-in style issuer paths: the current Keycloak realm and the retired MITREid one.
ISSUER_PATH="/auth/realms/egi"
OLD_ISSUER_PATH="/oidc/"
ISSUER="https://$HOST_NAME:$OP_PORT$ISSUER_PATH"
OLD_ISSUER="https://$HOST_NAME:$OP_PORT$OLD_ISSUER_PATH"
OTHER_ISSUER="https://$HOST_NAME:$OTHER_OP_PORT$ISSUER_PATH"
KEYSTONE_URL="https://$HOST_NAME:$KEYSTONE_PORT/v3"

CLI_CLIENT_ID="fedcloud-cli"
SHORT_TTL_CLIENT_ID="fedcloud-short-ttl"
ROBOT_CLIENT_ID="fedcloud-robot"
# Audience (RFC 8707 resource indicator) of the JWT access tokens that Keystone accepts.
KEYSTONE_RESOURCE="urn:fedcloud:keystone"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
