"""Appointments with the human agent: free slots from weekly hours and a busy calendar, and invites."""
