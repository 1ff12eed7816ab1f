"""Process definitions: stages, transitions, SLAs, escalation policies."""
