"""Check: image references -> findings.  Pure: no file, daemon or network.

``findings`` holds the codes, severities, messages and pragmas of lint;
``pins`` decides what a registry's answers say about pinned references
(verify's DP006, DP008, DP009), once the resolve step has asked.
"""
