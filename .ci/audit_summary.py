"""Summarise a `pip-audit -f json` report: fail on any advisory, and say plainly how many pins were audited.

pip-audit itself exits non-zero on an advisory; this adds the count of pins it could *not* look up (a package
or version the advisory source doesn't know, or an unreachable PyPI), so a skipped audit never reads as clean."""

import json
import sys

with open(sys.argv[1]) as handle:
    report = json.load(handle)
dependencies = report.get("dependencies", [])
vulnerable = [d for d in dependencies if d.get("vulns")]
skipped = [d for d in dependencies if "skip_reason" in d]
audited = len(dependencies) - len(skipped)
for dependency in vulnerable:
    ids = ", ".join(v["id"] for v in dependency["vulns"])
    sys.stdout.write(f"VULNERABLE {dependency['name']}=={dependency['version']}: {ids}\n")
sys.stdout.write(f"pip-audit: {audited} pins audited, {len(vulnerable)} with advisories, {len(skipped)} not found\n")
if skipped and not audited:
    sys.stdout.write("WARNING: no pin could be looked up (is PyPI reachable from here?): this run proves nothing\n")
sys.exit(1 if vulnerable else 0)
