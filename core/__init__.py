"""Core: the app shell (tabs, theme, pages every person lands on), errors and rate limits shared by every door."""
