//! Stable rule ids of the accounting validator, one constant per kind of fault.

/// The message is empty or whitespace only; SSM's receiver rejects it.
pub const EMPTY: &str = "ACC-EMPTY";
/// The content is not a known accounting message type.
pub const TYPE_UNKNOWN: &str = "ACC-TYPE-UNKNOWN";
/// Non-ASCII bytes, invalid UTF-8 or control characters; `ssmsend` cannot send non-ASCII text.
pub const ENCODING: &str = "ACC-ENCODING";
/// Over 100 records (cASO's default chunk) or over 1 MB (the messaging limit) in one message.
pub const MESSAGE_SIZE: &str = "ACC-MESSAGE-SIZE";

/// The cloud message header is missing, malformed, or of another version than v0.4.
pub const CLOUD_HEADER: &str = "ACC-CLOUD-HEADER";
/// A record line is not `Key: value`, so APEL cannot split it.
pub const CLOUD_SYNTAX: &str = "ACC-CLOUD-SYNTAX";
/// A key APEL does not know (rejected) or ignores (dropped).
pub const CLOUD_FIELDS: &str = "ACC-CLOUD-FIELDS";
/// VMUUID or SiteName missing or null.
pub const CLOUD_MANDATORY: &str = "ACC-CLOUD-MANDATORY";
/// A value that does not parse as the field's type (integer, decimal or time).
pub const CLOUD_TYPES: &str = "ACC-CLOUD-TYPES";
/// The same key twice in one record; APEL keeps the last value.
pub const CLOUD_DUPLICATE_KEY: &str = "ACC-CLOUD-DUPLICATE-KEY";
/// The same VMUUID twice in one message.
pub const CLOUD_DUPLICATE_VM: &str = "ACC-CLOUD-DUPLICATE-VM";
/// Status outside cASO's vocabulary.
pub const CLOUD_STATUS: &str = "ACC-CLOUD-STATUS";
/// A string longer than its database column.
pub const CLOUD_LENGTH: &str = "ACC-CLOUD-LENGTH";
/// A number beyond its database column, or negative where that makes no sense.
pub const CLOUD_RANGE: &str = "ACC-CLOUD-RANGE";
/// Status and times that contradict each other or the Nova server's state.
pub const CLOUD_LIFECYCLE: &str = "ACC-CLOUD-LIFECYCLE";
/// Zero WallDuration for a completed VM.
pub const CLOUD_ZERO: &str = "ACC-CLOUD-ZERO";
/// WallDuration far from EndTime - StartTime.
pub const CLOUD_WALL: &str = "ACC-CLOUD-WALL";
/// CpuDuration above WallDuration x CpuCount.
pub const CLOUD_CPU: &str = "ACC-CLOUD-CPU";
/// No FQAN, so the usage is not attributed to any VO.
pub const CLOUD_FQAN: &str = "ACC-CLOUD-FQAN";
/// SiteName differs from the site profile or GOCDB.
pub const SITE_NAME: &str = "ACC-SITE-NAME";
/// CloudComputeService (or StAR StorageSystem) differs from the site profile or is missing.
pub const SERVICE: &str = "ACC-SERVICE";
/// cASO's VO mapping (voms.json or the Keystone project property) does not map a project.
pub const VO_MAPPING: &str = "ACC-VO-MAPPING";

/// A storage message with no StAR record.
pub const STAR_NONEMPTY: &str = "ACC-STAR-NONEMPTY";
/// StAR XML that APEL cannot parse, or of an unknown namespace.
pub const STAR_XML: &str = "ACC-STAR-XML";
/// A StAR record with a missing or invalid field.
pub const STAR_FIELDS: &str = "ACC-STAR-FIELDS";

/// A public IP message that does not follow the IP usage record v0.2 schema.
pub const IP_SCHEMA: &str = "ACC-IP-SCHEMA";
/// An accelerator message that does not follow the accelerator usage record v0.1 schema.
pub const ACCELERATOR_SCHEMA: &str = "ACC-ACCELERATOR-SCHEMA";
/// A JSON message that APEL 2.5.0's loader rejects because it has no JSON support.
pub const JSON_ROUTING: &str = "ACC-JSON-ROUTING";

/// The newest record is older than 7 days (warning) or 30 days (error).
pub const FRESHNESS: &str = "ACC-FRESHNESS";
/// A spool file that cannot be read.
pub const SPOOL_UNREADABLE: &str = "ACC-SPOOL-UNREADABLE";
/// A file in the spool that is not a dirq message, or a locked or temporary one.
pub const SPOOL_LAYOUT: &str = "ACC-SPOOL-LAYOUT";
/// Two messages in the walk with identical content.
pub const SPOOL_DUPLICATE: &str = "ACC-SPOOL-DUPLICATE";
