"""JSON API under /api/v1: thin routers over the domain services."""
