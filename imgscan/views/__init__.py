"""Views of the report (the JSON contract): text tables, SARIF, JUnit, CSV, HTML."""
