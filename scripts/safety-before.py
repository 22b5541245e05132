#!/usr/bin/env python3
"""Counts the safety-invariant violations of the rules as they were before the catalogue
(issue #9), with today's checker and invariants. Not a test: prints the before/after figures the
CHANGELOG quotes.

The old packs (git revision BEFORE, default 2d636dc) are taken as they were, with only what the
checker needs to see them: each anticancer option gets the regimen it gives (the same as today's
packs), the intracavitary option the kind `intracavitary`, and `X != present or X is unknown`
becomes `{when: X != present, unknown: check-before-start}` (the same offers; today's compiler
refuses the old form). The catalogue keeps its classes but none of its contraindications, and the
gates exclude nothing, so every requirement the old packs did not state themselves is missing,
as it was. Usage: scripts/safety-before.py [BEFORE] (needs a built pathwayctl).
"""
import os, re, shutil, subprocess, sys, tempfile
import yaml

BEFORE = sys.argv[1] if len(sys.argv) > 1 else "2d636dc"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CTL = os.environ.get("PATHWAYCTL", os.path.join(ROOT, ".build", "release", "pathwayctl"))
REGIMENS = {
    "nivolumab-ipilimumab": ["nivolumab", "ipilimumab"],
    "pembrolizumab-platinum-pemetrexed": ["pembrolizumab", {"anyOf": ["cisplatin", "carboplatin"]}, "pemetrexed"],
    "cisplatin-pemetrexed": ["cisplatin", "pemetrexed"],
    "carboplatin-pemetrexed": ["carboplatin", "pemetrexed"],
    "cisplatin-pemetrexed-bevacizumab": ["cisplatin", "pemetrexed", "bevacizumab"],
    "durvalumab-platinum-pemetrexed": ["durvalumab", {"anyOf": ["cisplatin", "carboplatin"]}, "pemetrexed"],
    "single-agent-chemotherapy": [{"anyOf": ["pemetrexed", "vinorelbine", "gemcitabine"]}],
    "surgical-resection": ["pleural-resection"],
    "pleurectomy-decortication": ["palliative-pleurectomy-decortication"],
    "multimodality-clinical-trial": ["pleural-resection"],
    "trial:NCT07121374": [{"anyOf": ["cisplatin", "carboplatin"]}, "pemetrexed", "nivolumab", "ipilimumab", "pleural-resection"],
    "intracavitary-chemotherapy": ["intrapleural-chemotherapy"],
    "gemcitabine-maintenance": ["gemcitabine"],
    "nivolumab": ["nivolumab"],
    "gemcitabine-ramucirumab": ["gemcitabine", "ramucirumab"],
    "vinorelbine": ["vinorelbine"],
    "pemetrexed": ["pemetrexed"],
    "platinum-pemetrexed-rechallenge": ["pemetrexed"],
    "cytoreductive-surgery-hipec": ["cytoreductive-surgery", "hipec"],
}
UNKNOWN_AS_PASS = re.compile(r"^\s*([\w.-]+) != (\w+) or \1 is unknown\s*$")


def old(path):
    return subprocess.run(["git", "-C", ROOT, "show", f"{BEFORE}:{path}"], capture_output=True, text=True, check=True).stdout


def requirement(item):
    """The old requirement with `X != v or X is unknown` as a check-before-start requirement."""
    if isinstance(item, list):
        return [requirement(i) for i in item]
    if isinstance(item, str):
        m = UNKNOWN_AS_PASS.match(item)
        return {"when": f"{m.group(1)} != {m.group(2)}", "unknown": "check-before-start"} if m else item
    if isinstance(item, dict) and "when" in item and isinstance(item["when"], str):
        m = UNKNOWN_AS_PASS.match(item["when"])
        if m:
            return {**item, "when": f"{m.group(1)} != {m.group(2)}", "unknown": "check-before-start"}
        if " is unknown" in item["when"]:  # a compound form: keep what excludes, offer while unknown
            return {**item, "when": re.sub(r"\s+or\s+\([^()]*is unknown[^()]*\)|\s+or\s+[\w.-]+ is unknown", "", item["when"]),
                    "unknown": "check-before-start"}
    if isinstance(item, dict) and "all" in item:
        def strip(text):
            m = UNKNOWN_AS_PASS.match(text) if isinstance(text, str) else None
            return f"{m.group(1)} != {m.group(2)}" if m else text
        parts = [strip(i) for i in item["all"]]
        return {**item, "all": parts, **({"unknown": "check-before-start"} if parts != item["all"] else {})}
    if isinstance(item, dict) and "any" in item:
        kept = [i for i in item["any"] if not (isinstance(i, str) and i.endswith("is unknown"))]
        return {**item, "any": kept, "unknown": "check-before-start"}
    return item


def flatten(items):
    for item in items or []:
        if isinstance(item, list):
            yield from flatten(item)
        else:
            yield item


def main():
    work = tempfile.mkdtemp(prefix="pw-before-")
    try:
        names = subprocess.run(["git", "-C", ROOT, "ls-tree", "-r", "--name-only", BEFORE, "Rules"],
                               capture_output=True, text=True, check=True).stdout.split()
        for name in names:
            target = os.path.join(work, os.path.relpath(name, "Rules"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            text = old(name)
            if name in ("Rules/pleural-mesothelioma.yaml", "Rules/peritoneal-mesothelioma.yaml"):
                pack = yaml.safe_load(text)
                pack.pop("tests", None)
                pack.pop("fixtures", None)
                for option in pack["pathway"]["options"]:
                    key = option.get("id") or f"trial:{option.get('trial')}"
                    if key in REGIMENS:
                        option["regimen"] = REGIMENS[key]
                    if key == "intracavitary-chemotherapy":
                        option["kind"] = "intracavitary"
                    if "requires" in option:
                        option["requires"] = [requirement(i) for i in flatten(option["requires"])]
                text = yaml.safe_dump(pack, sort_keys=False, allow_unicode=True)
            elif name.startswith("Rules/tests/") or name == "Rules/trials/necim.yaml":
                pack = yaml.safe_load(text)
                pack.pop("tests", None)
                pack.pop("fixtures", None)
                text = yaml.safe_dump(pack, sort_keys=False, allow_unicode=True)
            open(target, "w").write(text)
        catalogue = yaml.safe_load(open(os.path.join(ROOT, "Rules", "agents.yaml")))
        for section in ("classes", "agents", "procedures"):
            for item in catalogue[section]:
                item["contraindications"] = []
        yaml.safe_dump(catalogue, open(os.path.join(work, "agents.yaml"), "w"), sort_keys=False, allow_unicode=True)
        safety = yaml.safe_load(open(os.path.join(ROOT, "Rules", "safety.yaml")))
        safety["modalities"] = []
        for gate in safety["gates"]:
            gate["when"], gate["unknown"] = "ecog > 99", "check-before-start"
        yaml.safe_dump(safety, open(os.path.join(work, "safety.yaml"), "w"), sort_keys=False, allow_unicode=True)
        shutil.copy(os.path.join(ROOT, "Rules", "invariants.yaml"), work)
        for label, directory in ((f"before ({BEFORE})", work), ("after (Rules/)", os.path.join(ROOT, "Rules"))):
            run = subprocess.run([CTL, "rules", "check", directory], capture_output=True, text=True)
            summary = next((l for l in run.stdout.splitlines() if l.startswith("safety:")), run.stdout + run.stderr[-2000:])
            broken = sorted(set(re.findall(r"safety-invariant: (.*?) — broken by ([\w:.-]+)", run.stderr)))
            print(f"{label}: {summary}")
            for text, subject in broken:
                print(f"    {text} — e.g. {subject}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


main()
