"""Schemathesis hooks for .ci/schemathesis (loaded through SCHEMATHESIS_HOOKS).

Every generated request that carries a valid Idempotency-Key gets a fresh one (a V4 UUID, as a
real client makes per request). Without this, hypothesis reuses short keys ("0", "!") across
requests with different bodies, and the server rightly answers 422: the same key named another
request. An invalid key (the negative tests) is sent as generated.
"""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    for name in list(case.headers or {}):
        if name.lower() == "idempotency-key" and VALID_KEY.match(str(case.headers[name])):
            case.headers[name] = str(uuid.uuid4())
