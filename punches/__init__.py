"""Punch-the-clock: a daily ritual in a channel, once per local day, answered with a song."""
