"""Chat: private conversations started from a post, and the messages in them, delivered live and never lost."""
