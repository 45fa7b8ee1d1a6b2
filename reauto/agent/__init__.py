"""The conversation agent: understanding what the lead says, and the scripted flow."""
