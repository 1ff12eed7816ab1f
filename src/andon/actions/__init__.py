"""Actions: owned, dated pieces of work raised by people, metrics and improvement."""
