#!/usr/bin/env python3
"""Writes the seed corpora and the dictionary for Fuzz/run: every event of the example cases, the
same events with edge numbers in their numeric fields (±2^53, ±2^63, 1e19, 1e308, -0, 1e-400),
request bodies for the four routes (with the FHIR example bundles), and the field names and vocabulary as dictionary tokens."""
import json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
cases = json.load(open(os.path.join(root, "Tests/PathwayCoreTests/Fixtures/examples.json")))["cases"]
events = [e for case in cases for e in case["events"]]
EDGES = ["9007199254740992", "-9007199254740992", "9223372036854775808", "-9223372036854775809", "1e19", "1e308", "-0", "1e-400", "4.5"]

def dump(event):
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)

def with_edges(event):
    text = dump(event)
    for key, value in (event.get("data") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for edge in EDGES:
                yield text.replace(f'"{key}":{json.dumps(value)}', f'"{key}":{edge}', 1)

def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)

events_dir = os.path.join(here, "corpus-events")
requests_dir = os.path.join(here, "corpus-requests")
n = 0
for event in events:
    for text in [dump(event), *with_edges(event)]:
        n += 1
        write(events_dir, f"e{n}.json", text.encode())
        write(requests_dir, f"single{n}.json", b"\x00" + text.encode())
for i, case in enumerate(cases):
    lines = "\n".join(dump(e) for e in case["events"])
    write(requests_dir, f"ndjson{i}.json", b"\x01" + lines.encode())
    write(requests_dir, f"evaluate{i}.json", b"\x02" + json.dumps({"events": case["events"]}).encode())
# FHIR bundles (route 3): the repository's examples.
fhir_seeds = 0
for name in sorted(os.listdir(os.path.join(root, "docs/examples/fhir"))):
    if name.endswith(".json"):
        bundle = json.load(open(os.path.join(root, "docs/examples/fhir", name)))
        write(requests_dir, f"fhir-{name}", b"\x03" + json.dumps(bundle, separators=(",", ":")).encode())
        fhir_seeds += 1
write(requests_dir, "duplicate.json", b'\x00{"id":"a","patientId":"P","type":"performance-status","occurredAt":"2026-01-01T00:00:00Z","data":{"scale":"ecog","value":0,"value":4}}')

tokens = set()
def walk(value):
    if isinstance(value, dict):
        for key, item in value.items():
            tokens.add(f'"{key}"')
            walk(item)
    elif isinstance(value, list):
        for item in value:
            walk(item)
    elif isinstance(value, str):
        tokens.add(f'"{value}"')
walk(events)
for word in ["present", "absent", "resolved", "active", "stopped", "karnofsky", "who", "ecog", "tnm9", "ajcc8", "M1", "N2",
             "retraction", "eventId", "preference", "declines", "withdrawn", "tumor-board", "lineId", "cycles"]:
    tokens.add(f'"{word}"')
for word in ["resourceType", "Bundle", "entry", "resource", "coding", "system", "code", "valueQuantity", "valueInteger",
             "hasMember", "reference", "meta", "versionId", "status", "subject", "effectiveDateTime", "method", "request"]:
    tokens.add(f'"{word}"')
tokens |= {"{", "}", "[", "]", ":", ",", "true", "false", "null", *EDGES}
with open(os.path.join(here, "json.dict"), "w") as f:
    for i, token in enumerate(sorted(tokens)):
        escaped = token.replace("\\", "\\\\").replace('"', '\\"')
        f.write(f'k{i}="{escaped}"\n')
print(f"{n} event seeds, {len(cases) * 2 + n + 1 + fhir_seeds} request seeds, {len(tokens)} dictionary tokens")
