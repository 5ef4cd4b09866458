"""chain_storm's LiteLLM contender: one worker process running LiteLLM's Router (litellm==1.80.0, from
`make bench-peers`, in .venv-peers) on the same arrivals as ours. Usage-based routing, cooldowns and
Redis state, in the configuration given (``--config``):

- default: routing_strategy usage-based-routing-v2, Redis, LiteLLM's own retry/cooldown defaults;
- tuned: the same plus num_retries=len(models), allowed_fails=0, cooldown_time scaled like the fake's
  windows, retry_after=0.

Run by bench.chain_storm with .venv-peers/bin/python; needs no part of the app.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import storm_load  # noqa: E402

_RETRY_IN = re.compile(r"[Tt]ry again in ([0-9.]+) seconds")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True, help="JSON: fake, redis (url, namespace), models, rate, duration, seed, t0, mode, out, config, cooldown_s")
    spec = json.loads(parser.parse_args().spec)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import litellm
    from litellm import Router

    litellm.suppress_debug_info = True
    model_list = [{
        "model_name": "chain",
        "litellm_params": {"model": f"bedrock/converse/{m['id']}", "aws_bedrock_runtime_endpoint": spec["fake"],
                           "aws_region_name": "us-east-1", "rpm": m["rpm"], "tpm": m["tpm"], "timeout": 5},
        "model_info": {"id": m["id"]},
    } for m in spec["models"]]
    redis = spec["redis"]
    options = {"routing_strategy": "usage-based-routing-v2", "redis_url": redis["url"],
               "cache_kwargs": {"namespace": redis["namespace"]}, "timeout": 5}
    if spec["config"] == "tuned":
        options.update(num_retries=len(spec["models"]), allowed_fails=0, cooldown_time=spec["cooldown_s"], retry_after=0)
    router = Router(model_list=model_list, **options)
    messages = [{"role": "user", "content": "Review: " + "x" * 400}]

    def call(max_wait_s):
        response = router.completion(model="chain", messages=messages, max_tokens=200)
        return response._hidden_params.get("model_id"), None

    def retry_after(exc):
        text = str(exc)
        match = _RETRY_IN.search(text)
        if match:
            return max(0.05, float(match.group(1)))
        if isinstance(exc, litellm.RateLimitError) or "No deployments available" in text:
            return 1.0
        return None

    call.retry_after = retry_after
    storm_load.run(call, rate_per_s=spec["rate"], duration=spec["duration"], seed=spec["seed"], t0=spec["t0"],
                   mode=spec["mode"], out_path=spec["out"])


if __name__ == "__main__":
    main()
