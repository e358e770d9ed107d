"""Recommendations: channels and posts a person may feel *same* about — never people."""
