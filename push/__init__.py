"""Web push: each person's subscriptions (one per device), the server's VAPID keys, and the task that sends."""
