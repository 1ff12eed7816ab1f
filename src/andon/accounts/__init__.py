"""People who use Andon: users, role grants, sign-in sessions and API tokens."""
