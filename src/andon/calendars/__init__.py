"""Business calendars: shifts, holidays, closures and quiet hours, and time measured by them."""
