"""Campaign analytics: what the calls of a period achieved, what they cost and how they sounded."""
