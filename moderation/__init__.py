"""Moderation: reports from anyone, the actions of hosts (and later operators), and the log they leave."""
