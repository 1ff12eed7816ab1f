"""SOPs, work instructions and checklists under change control."""
