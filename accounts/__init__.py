"""Accounts: people who use same, their private email, preferences, tokens and their own data."""
