"""The JSON API under /api/v1 (django-ninja): a thin door onto the same services as the web pages."""
