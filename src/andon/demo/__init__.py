"""The seeded demo plant, built through the same service functions as real data."""
