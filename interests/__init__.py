"""Channels: the places built around a theme or a mood. (Named `interests` because Django Channels owns the label `channels`.)"""
