"""Step 1 of the flow: fetchers list the scopes to rate."""
