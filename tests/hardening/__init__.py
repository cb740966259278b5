"""End-to-end proofs that the gate holds under faults, hostile content, malformed answers and signals."""
