"""Report: findings, notes and errors -> one document on stdout (text,
JSON, SARIF or GitHub workflow commands) and errors on stderr, every string
escaped for its format."""
