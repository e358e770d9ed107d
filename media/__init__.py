"""Media: every uploaded image and sound is checked, re-encoded and stripped of metadata here."""
