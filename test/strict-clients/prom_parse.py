#!/usr/bin/env python3
"""Parses Prometheus text exposition from stdin with the official Python client's parser
(Debian's python3-prometheus-client), sharing no code with drover, and prints every sample
as JSON: [{"name", "labels", "value", "type"}]. A malformed exposition exits 1 with why."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    text = sys.stdin.read()
    try:
        samples = [
            {"name": s.name, "labels": s.labels, "value": s.value, "type": family.type}
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    except Exception as err:  # the parser raises ValueError and friends on bad input
        print(f"not a valid exposition: {err}", file=sys.stderr)
        sys.exit(1)
    json.dump(samples, sys.stdout)


if __name__ == "__main__":
    main()
