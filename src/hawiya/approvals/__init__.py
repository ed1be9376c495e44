"""App approval by number matching: a relying party asks a citizen to approve a sign-in or a
transaction on their phone by tapping the number the party shows (docs/design.md §6)."""
