"""The service's limits and patterns, and the tag keys reconciler keeps for itself: plain values,
shared by the pydantic models, the kinds' tables, the renderers and the messages.

The limits are those of botocore's service model (a test reads the model at run time and fails if
either side drifts). Nothing here imports pydantic: a run that validates nothing (the manifest cache
answers for every file) never loads it.
"""

from __future__ import annotations

#: The tag the tool puts on every entity it creates; its value is the manifest's metadata.name.
OWNERSHIP_TAG_KEY = "reconciler:name"
#: The second ownership tag: the lineage id of the lockfile that owns the entity.
LINEAGE_TAG_KEY = "reconciler:lineage"
RESERVED_TAG_PREFIX = "aws:"

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$"
TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
#: The service model's `.*`, a Java regular expression: its `.` matches any character but the line
#: terminators CR, LF, NEL, U+2028 and U+2029 (Python's and pydantic's `.` stop only at LF).
SINGLE_LINE_PATTERN = r"^[^\n\r\u0085\u2028\u2029]*$"

NAME_MAX = 120
SOURCE_URI_MAX = 2048
STRING256_MAX = 256
PROPERTY_KEY_MAX = 2500
PROPERTY_VALUE_MAX = 4096
PROPERTIES_MAX = 30
METADATA_VALUE_MAX = 1024
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
#: The service allows 50 tags per request; two are kept for the ownership tags.
TAGS_MAX = 50 - 2
DESCRIPTION_MAX = 3072
#: LineageEntityParameters: keys and values are StringParameterValue (2,500 characters).
PARAMETER_MAX = 2500
LINEAGE_PROPERTIES_MAX = 30
