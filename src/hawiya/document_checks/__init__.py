"""Document-status checks: a relying party asks whether a document is valid, and every answer
is recorded (docs/design.md §6)."""
