"""The pieces the tutorials build: agents, networks, replay, policies."""
