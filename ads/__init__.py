"""House ads: campaigns the operators run, shown sometimes at the top of a feed, counted per day, never per person."""
