"""The reports family: pure renderers (JUnit, summary, JSON), the escaping they share, atomic files, evidence."""
