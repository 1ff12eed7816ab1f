"""Work items moving through processes: events, exceptions, QA gates, escalation, line status."""
