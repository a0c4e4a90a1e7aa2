"""`python -m imgscan.report > docs/report.schema.json`: the report's JSON Schema, generated from its types."""

import json
import sys

from imgscan.report import schema

sys.stdout.write(json.dumps(schema(), indent=2, sort_keys=True) + "\n")
