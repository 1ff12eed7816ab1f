"""The weekly review: its meetings (attendance, decisions) and the pack it runs from."""
