"""Notifications: a durable outbox delivered by email and signed webhooks, every attempt kept."""
