"""The same call as benches/src/bin/call_bench.rs, from Python: `Engine.get_post` on the
in-memory engine (GIL released, runtime block_on, result converted to a dict)."""

import sys
import time

import postpilot

calls = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
engine = postpilot.Engine.in_memory()
user = engine.register(email="bench@example.com", password="correct horse battery")
account = engine.connect_account(user_id=user["id"], platform="facebook", account_name="@bench", account_id_external="bench")
post = engine.create_post(user_id=user["id"], account_id=account["id"], content="Benchmark", hashtags=["sale"])
started = time.perf_counter()
for _ in range(calls):
    engine.get_post(user_id=user["id"], post_id=post["id"])
elapsed = time.perf_counter() - started
print(f"python_us {elapsed * 1e6 / calls:.3f}")
